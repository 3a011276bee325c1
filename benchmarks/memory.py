"""Memory of a process that logs 1 million points (quick: 20k).

Each tool runs in a fresh child process that imports it, starts a run, logs ``n`` single-scalar
steps, and finishes. A sampler thread reads the RSS of the process *and its children*
(W&B logs through a separate service process) every 5 ms with psutil:

- peak RSS: the highest sampled tree RSS over the process's life (imports included).
- RSS growth: peak minus the RSS just after import + start, i.e. what logging added.
- tracemalloc peak: Python allocations while logging + finishing, in a separate child (so
  tracemalloc's own overhead does not inflate the RSS figures). nbtrack and floor only.

The peers log 200k points, not 1M (W&B takes ~250 µs a point, so 1M would take 5-10 min;
their RSS does not grow with the points they log); MLflow logs through ``log_batch`` of
1,000 points per call (one call per point would take ~90 min for 1M at ~5 ms a call). floor:
the same loop in a bare interpreter, keeping nothing.
"""

from __future__ import annotations

import os
import resource
import time
from typing import Any

from benchmarks._common import (
    Row,
    Sampler,
    all_met,
    import_nbtrack,
    lt,
    main,
    peer,
    pick,
    run_isolated,
    scratch_dir,
)

NAME = "memory"
PEER_POINTS = 200_000  # W&B logs ~4k points/s: 1M would take 5-10 min
MB = 1024 * 1024


def _result(sampler: Sampler, base: int, traced_peak: int | None) -> dict[str, Any]:
    peak = sampler.stop()
    self_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    peak = max(peak, self_max)
    out = {"peak_mb": peak / MB, "growth_mb": max(0, peak - base) / MB}
    if traced_peak is not None:
        out["traced_mb"] = traced_peak / MB
    return out


def _trace_start(trace: bool) -> None:
    if trace:
        import tracemalloc

        tracemalloc.start()


def _trace_peak(trace: bool) -> int | None:
    if not trace:
        return None
    import tracemalloc

    return tracemalloc.get_traced_memory()[1]


# ---------------------------------------------------------------- tools (children)


def floor_case(n: int, trace: bool = False) -> dict[str, Any]:
    sampler = Sampler()
    base = sampler.rss()
    _trace_start(trace)
    last = 0.0
    for i in range(n):
        last = (i % 1000) * 0.001
    del last
    return _result(sampler, base, _trace_peak(trace))


def nbtrack_case(n: int, trace: bool = False) -> dict[str, Any]:
    sampler = Sampler()
    with scratch_dir() as tmp:
        os.environ["NBTRACK_INDEX_DIR"] = str(tmp / "index")
        os.chdir(tmp)
        nbtrack = import_nbtrack()
        nbtrack.start(name="memory", store=str(tmp / "store"))
        nbtrack.flush()
        base = sampler.rss()
        _trace_start(trace)
        log = nbtrack.log
        for i in range(n):
            log(step=i, loss=(i % 1000) * 0.001)
        nbtrack.finish()
        return _result(sampler, base, _trace_peak(trace))


def mlflow_case(n: int, trace: bool = False) -> dict[str, Any]:
    sampler = Sampler()
    with scratch_dir() as tmp:
        os.chdir(tmp)
        import mlflow
        from mlflow.entities import Metric

        mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
        client = mlflow.MlflowClient()
        exp = client.create_experiment("bench", artifact_location=(tmp / "art").as_uri())
        run_id = client.create_run(exp).info.run_id
        base = sampler.rss()
        _trace_start(trace)
        now = int(time.time() * 1000)
        for first in range(0, n, 1000):
            batch = [
                Metric("loss", (i % 1000) * 0.001, now, i)
                for i in range(first, min(n, first + 1000))
            ]
            client.log_batch(run_id, metrics=batch)
        client.set_terminated(run_id)
        return _result(sampler, base, _trace_peak(trace))


def wandb_case(n: int, trace: bool = False) -> dict[str, Any]:
    sampler = Sampler()
    with scratch_dir() as tmp:
        os.chdir(tmp)
        for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
            os.environ[var] = str(tmp)
        os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true")
        import wandb

        settings = wandb.Settings(
            console="off", x_disable_stats=True, disable_git=True, save_code=False, silent=True
        )
        wandb.init(dir=str(tmp), project="bench", mode="offline", settings=settings)
        base = sampler.rss()
        _trace_start(trace)
        log = wandb.log
        for i in range(n):
            log({"loss": (i % 1000) * 0.001}, step=i)
        wandb.finish()
        return _result(sampler, base, _trace_peak(trace))


# ---------------------------------------------------------------- rows


def measure(quick: bool = False) -> list[Row]:
    n = 20_000 if quick else 1_000_000
    notes: list[str] = []
    mod = f"benchmarks.{NAME}"
    floor = run_isolated(f"{mod}:floor_case", n=n)
    nbt = run_isolated(f"{mod}:nbtrack_case", n=n)
    floor_t = run_isolated(f"{mod}:floor_case", n=n, trace=True)
    nbt_t = run_isolated(f"{mod}:nbtrack_case", n=n, trace=True)
    n_peer = min(n, PEER_POINTS)
    mlf = peer(f"{mod}:mlflow_case", notes, n=n_peer)
    wdb = peer(f"{mod}:wandb_case", notes, n=n_peer)
    res = {"nbtrack": nbt, "mlflow": mlf, "wandb": wdb, "floor": floor}

    def row(key: str, figure: str, **kw: Any) -> Row:
        vals = {tool: pick(r, key) for tool, r in res.items()}
        return Row(
            NAME, figure, "MB", vals["nbtrack"], vals["mlflow"], vals["wandb"], vals["floor"], **kw
        )

    size = f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"
    peak = row(
        "peak_mb",
        f"peak RSS, logging {size} points",
        target="< 100 MB",
        note="process tree (W&B: + its service process); floor = bare interpreter loop",
    )
    peak.met = all_met(lt(peak.nbtrack, 100))
    rows = [
        peak,
        row(
            "growth_mb",
            f"RSS growth while logging {size}",
            note=f"peak minus RSS after import + start; peers on {n_peer:,} points "
            "(MLflow via log_batch of 1,000)",
        ),
        Row(
            NAME,
            f"tracemalloc peak, logging {size}",
            "MB",
            pick(nbt_t, "traced_mb"),
            floor=pick(floor_t, "traced_mb"),
            note="Python allocations while logging + finish",
        ),
    ]
    if notes:
        rows[0].note += "; " + "; ".join(notes)
    return rows


if __name__ == "__main__":
    main(measure)
