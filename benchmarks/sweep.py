"""Throughput of ``nbtrack sweep``: trials per minute for 16 short trials of one tracked notebook.

The notebook (``%nbtrack start``, three cells that compute and ``log()``, ``%nbtrack stop``; a
trial takes a couple of seconds, mostly the kernel's start) runs 16 times with 16 seeds:

- plain: ``papermill.execute_notebook`` 16 times in a row, the same tracking (the floor: what a
  sweep cannot avoid);
- local pool, 1 and 2 processes: ``nbtrack.sweep(..., workers=N)``, from the call to its return
  (process spawning, building each trial's notebook, the sweep's events, finding each run);
- Dask, 1 and 2 single-threaded workers (a real ``dask scheduler`` and ``dask worker``s on
  loopback, started first, their first import of nbtrack done before timing); the store is a
  local folder given as shared (every process is on this machine).

Figures: trials per minute of each; the per-trial overhead of a sequential sweep (one local
process) over plain papermill (target < 10 %); the speed-up of 2 Dask workers over 1 (target
>= 1.8x: two trials at once on two cores). Every kernel is a process of its own, so the machine's
load decides much of this: the load average is recorded in RESULTS.md and in the notes here.
Quick mode starts no kernel: it times expanding a 1000-trial grid and reducing its record.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Row, lt, main, pick, run_isolated, scratch_dir

NAME = "sweep"
TRIALS = 16
CELLS = 3


def _notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [nbformat.v4.new_code_cell("seed = 0\nn = 20000"),
             nbformat.v4.new_code_cell('%load_ext nbtrack\n%nbtrack start "bench"'),
             nbformat.v4.new_code_cell("import random\nimport nbtrack\nrng = random.Random(seed)")]
    cells[0].metadata["tags"] = ["parameters"]
    cells += [nbformat.v4.new_code_cell(f"mean = sum(rng.random() for _ in range(n)) / n\n"
                                        f"nbtrack.log(step={i}, mean=mean)\nprint('step {i}', round(mean, 6))")
              for i in range(CELLS)]
    cells.append(nbformat.v4.new_code_cell("%nbtrack stop"))
    nb.cells = cells
    nbformat.write(nb, path)


def _throughput_case(trials: int) -> dict[str, Any]:
    import papermill

    import nbtrack
    from tests.servers import start_dask_cluster

    found: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    with scratch_dir() as folder:
        os.environ["NBTRACK_INDEX_DIR"] = str(folder / "index")
        source = folder / "bench.ipynb"
        _notebook(source)
        plain_store = folder / "plain-store"
        started = time.perf_counter()
        for seed in range(trials):
            out = folder / f"plain-{seed}.ipynb"
            os.environ.update(NBTRACK_STORE=str(plain_store), NBTRACK_NOTEBOOK=str(out))
            papermill.execute_notebook(str(source), str(out), parameters={"seed": seed}, kernel_name="python3",
                                       cwd=str(folder), progress_bar=False)
        found["plain_s"] = time.perf_counter() - started
        for name in ("NBTRACK_STORE", "NBTRACK_NOTEBOOK"):
            del os.environ[name]

        def sweep(label: str, **where: Any) -> None:
            store = folder / f"{label}-store"
            started = time.perf_counter()
            swept = nbtrack.sweep(source, {"seed": list(range(trials))}, store=str(store), progress=False,
                                  cwd=folder, out=folder / label, **where)
            found[f"{label}_s"] = time.perf_counter() - started
            if swept.status != "finished":
                raise RuntimeError(f"{label}: the sweep ended {swept.status}: {swept.trials.to_dict('records')}")

        sweep("local1", workers=1)
        sweep("local2", workers=2)
        for workers in (1, 2):
            cluster = start_dask_cluster(folder, workers=workers, env={"NBTRACK_INDEX_DIR": str(folder / "windex")})
            try:
                from distributed import Client

                with Client(cluster.address) as client:  # each worker imports what a trial needs, untimed
                    client.run(lambda: __import__("nbtrack.sweeps.trial"))
                sweep(f"dask{workers}", cluster=cluster.address, shared_folder=True)
            finally:
                cluster.stop()
    found["load_after"] = os.getloadavg()[0]
    return found


def _quick_case() -> dict[str, Any]:
    from nbtrack.core.sweep_spec import make_spec, parse_dimension
    from nbtrack.core.sweep_state import event, reduce_sweep

    started = time.perf_counter()
    spec = make_spec([parse_dimension("a=" + ",".join(map(str, range(10)))),
                      parse_dimension("b=" + ",".join(map(str, range(100))))])
    events = [event("sweep", id="s", name="s", spec=spec.to_json()), event("launch", session="s1")]
    for index, _params in enumerate(spec.trials()):
        events += [event("attempt", session="s1", trial=index, attempt=f"a{index}"),
                   event("result", session="s1", trial=index, attempt=f"a{index}", status="finished")]
    state = reduce_sweep(events)
    assert state.counts()["finished"] == 1000
    return {"reduce_s": time.perf_counter() - started}


def measure(quick: bool = False) -> list[Row]:
    if quick:
        result = run_isolated("benchmarks.sweep:_quick_case")
        return [Row(NAME, "1000-trial grid: expand and reduce its record (quick: no kernels)", "ms",
                    pick(result, "reduce_s", 1e3), note="quick mode: no trial executed")]
    result = run_isolated("benchmarks.sweep:_throughput_case", trials=TRIALS, timeout=3600)
    labels = {"plain": "plain papermill, sequential", "local1": "sweep, local pool of 1",
              "local2": "sweep, local pool of 2", "dask1": "sweep, Dask 1 worker",
              "dask2": "sweep, Dask 2 single-threaded workers"}
    seconds = {k: pick(result, f"{k}_s", 1 / TRIALS) for k in labels}  # per trial: a cost, lower is better
    plain, local1 = seconds["plain"], seconds["local1"]
    overhead = None if plain is None or local1 is None else 100 * (local1 - plain) / plain
    dask1, dask2 = seconds["dask1"], seconds["dask2"]
    speedup = None if dask1 is None or dask2 is None else dask1 / dask2
    load = "" if result is None else f"load average {result['load_before']:.1f} / {result['load_after']:.1f}"
    rows = [Row(NAME, f"{label}: time per trial", "s", seconds[key],
                note=f"{60 / seconds[key]:.1f} trials/min" if seconds[key] else "") for key, label in labels.items()]
    rows[0].note += f"; {TRIALS} trials of a {CELLS + 4}-cell tracked notebook, a kernel each; {load} (2 cores)"
    return [
        *rows,
        Row(NAME, "per-trial overhead of a sequential sweep over papermill", "%", overhead, target="< 10 %",
            met=lt(overhead, 10)),
        Row(NAME, "Dask: time per trial with 2 workers over 1 (1 / speed-up)", "x",
            None if speedup is None else 1 / speedup, target="speed-up >= 1.8x (<= 0.556)",
            met=None if speedup is None else speedup >= 1.8,
            note="" if speedup is None else f"speed-up {speedup:.2f}x"),
    ]

if __name__ == "__main__":
    main(measure)
