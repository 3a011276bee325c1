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

Each configuration runs once per round (2 rounds, the second in reverse order) and the median is
kept: the load of a shared machine drifts, and alternating spreads the drift over all of them.

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
ROUNDS = 2
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


def _throughput_case(trials: int, rounds: int) -> dict[str, Any]:
    """Every configuration once per round, in reverse order every other round (the machine's load
    drifts: alternating spreads it over them); the median of the rounds per configuration."""
    import statistics

    import papermill

    import nbtrack
    from tests.servers import start_dask_cluster

    times: dict[str, list[float]] = {}
    loads = [os.getloadavg()[0]]
    with scratch_dir() as folder:
        os.environ["NBTRACK_INDEX_DIR"] = str(folder / "index")
        source = folder / "bench.ipynb"
        _notebook(source)
        clusters = {n: start_dask_cluster(folder, workers=n, env={"NBTRACK_INDEX_DIR": str(folder / f"windex{n}")})
                    for n in (1, 2)}
        try:
            from distributed import Client

            for cluster in clusters.values():  # each worker imports what a trial needs, untimed
                with Client(cluster.address) as client:
                    client.run(lambda: __import__("nbtrack.sweeps.trial"))

            def plain(label: str) -> None:
                (folder / label).mkdir()
                for seed in range(trials):
                    out = folder / label / f"plain-{seed}.ipynb"
                    os.environ.update(NBTRACK_STORE=str(folder / f"{label}-store"), NBTRACK_NOTEBOOK=str(out))
                    papermill.execute_notebook(str(source), str(out), parameters={"seed": seed},
                                               kernel_name="python3", cwd=str(folder), progress_bar=False)
                for name in ("NBTRACK_STORE", "NBTRACK_NOTEBOOK"):
                    del os.environ[name]

            def sweep(label: str, **where: Any) -> None:
                swept = nbtrack.sweep(source, {"seed": list(range(trials))}, store=str(folder / f"{label}-store"),
                                      progress=False, cwd=folder, out=folder / label, **where)
                if swept.status != "finished":
                    raise RuntimeError(f"{label}: the sweep ended {swept.status}: {swept.trials.to_dict('records')}")

            cases = {
                "plain": plain,
                "local1": lambda label: sweep(label, workers=1),
                "local2": lambda label: sweep(label, workers=2),
                "dask1": lambda label: sweep(label, cluster=clusters[1].address, shared_folder=True),
                "dask2": lambda label: sweep(label, cluster=clusters[2].address, shared_folder=True),
            }
            for round_ in range(rounds):
                for key in (list(cases) if round_ % 2 == 0 else list(reversed(cases))):
                    started = time.perf_counter()
                    cases[key](f"{key}-{round_}")
                    times.setdefault(key, []).append(time.perf_counter() - started)
                loads.append(os.getloadavg()[0])
        finally:
            for cluster in clusters.values():
                cluster.stop()
    return {**{f"{key}_s": statistics.median(values) for key, values in times.items()}, "loads": loads}


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
    result = run_isolated("benchmarks.sweep:_throughput_case", trials=TRIALS, rounds=ROUNDS, timeout=3600)
    labels = {"plain": "plain papermill, sequential", "local1": "sweep, local pool of 1",
              "local2": "sweep, local pool of 2", "dask1": "sweep, Dask 1 worker",
              "dask2": "sweep, Dask 2 single-threaded workers"}
    seconds = {k: pick(result, f"{k}_s", 1 / TRIALS) for k in labels}  # per trial: a cost, lower is better
    plain, local1 = seconds["plain"], seconds["local1"]
    overhead = None if plain is None or local1 is None else 100 * (local1 - plain) / plain
    dask1, dask2 = seconds["dask1"], seconds["dask2"]
    speedup = None if dask1 is None or dask2 is None else dask1 / dask2
    load = "" if result is None else "load average " + " / ".join(f"{v:.1f}" for v in result["loads"])
    rows = [Row(NAME, f"{label}: time per trial", "s", seconds[key],
                note=f"{60 / seconds[key]:.1f} trials/min" if seconds[key] else "") for key, label in labels.items()]
    rows[0].note += (f"; {TRIALS} trials of a {CELLS + 4}-cell tracked notebook, a kernel each; median of "
                     f"{ROUNDS} rounds in alternating order; {load} (start and after each round; 2 cores)")
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
