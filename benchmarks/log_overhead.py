"""Cost of one ``log()`` call, of flush + finish, and of the bytes it leaves on disk.

Each tool runs in its own child process and logs ``n`` steps (100k; quick: 2k) of 1 scalar
and then of 5 scalars, each call timed alone with ``time.perf_counter_ns`` (the median cost of
an empty timer pair is subtracted). Median and p99 come from those per-call timings; mean is
their sum / n, so it includes amortized work (buffer flushes) done on the caller's thread.

- nbtrack: ``nbtrack.log(step=i, loss=v)`` into a fresh local store.
- MLflow: SQLite backend, synchronous ``mlflow.log_metric`` (1 scalar) and ``log_metrics``
  (5 scalars, one batch call). About 5 ms a call, so it runs 2,000 steps, not 100k;
  per-call and per-100k-point figures are comparable, flush + finish is not.
- W&B: offline mode (``WANDB_MODE=offline``, ``wandb.init(dir=tmp)``), ``wandb.log``.
- floor: ``list.append((i, v))`` / ``list.append((i, a, b, c, d, e))``; for bytes, the raw
  binary size of the points (int64 step + float64 per value).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from array import array
from pathlib import Path
from typing import Any

from benchmarks._common import (
    Row,
    all_met,
    dir_bytes,
    import_nbtrack,
    lt,
    main,
    peer,
    pick,
    run_isolated,
    scratch_dir,
    summarize_ns,
    timer_overhead_ns,
)

NAME = "log_overhead"
MLFLOW_STEPS = 2_000
KEYS5 = ("loss", "acc", "lr", "grad_norm", "val_loss")


def _values(n: int, k: int) -> list[list[float]]:
    rng = random.Random(42)
    return [[rng.random() for _ in range(n)] for _ in range(k)]


def _stats(prefix: str, samples: array, overhead: float) -> dict[str, float]:
    s = summarize_ns(samples, overhead)
    return {
        f"{prefix}_median_ns": s["median_ns"],
        f"{prefix}_p99_ns": s["p99_ns"],
        f"{prefix}_mean_ns": max(1.0, sum(samples) / len(samples) - overhead),
    }


def _lifecycle(start: Any, finish: Any, repeats: int = 3) -> float:
    """Median ms of ``start(k); finish()`` for an empty run."""
    times = []
    for k in range(repeats):
        t0 = time.perf_counter()
        start(k)
        finish()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _per_100k(nbytes: int, points: int) -> float:
    return nbytes / points * 100_000


# ---------------------------------------------------------------- tools (child processes)


def floor_case(n: int) -> dict[str, Any]:
    clock, over = time.perf_counter_ns, timer_overhead_ns()
    v, (a, b, c, d, e) = _values(n, 1)[0], _values(n, 5)
    s1, s5 = array("q", bytes(8 * n)), array("q", bytes(8 * n))
    buf: list[tuple[float, ...]] = []
    append = buf.append
    for i in range(n):
        t0 = clock()
        append((i, v[i]))
        s1[i] = clock() - t0
    buf2: list[tuple[float, ...]] = []
    append = buf2.append
    for i in range(n):
        t0 = clock()
        append((i, a[i], b[i], c[i], d[i], e[i]))
        s5[i] = clock() - t0
    buf3: list[tuple[object, dict[str, float]]] = []
    append3 = buf3.append

    def log(step: int | None = None, **scalars: float) -> None:
        append3((step, scalars))

    s1f = array("q", bytes(8 * n))
    for i in range(n):
        t0 = clock()
        log(step=i, loss=v[i])
        s1f[i] = clock() - t0
    return {
        **_stats("s1", s1, over),
        **_stats("s5", s5, over),
        **_stats("fn", s1f, over),
        "s1_bytes": 16.0 * 100_000,
        "s5_bytes": (8 + 5 * 8) / 5 * 100_000,
    }


def nbtrack_case(n: int) -> dict[str, Any]:
    with scratch_dir() as tmp:
        os.environ["NBTRACK_INDEX_DIR"] = str(tmp / "index")
        os.chdir(tmp)
        nbtrack = import_nbtrack()
        store = str(tmp / "store")
        clock, over = time.perf_counter_ns, timer_overhead_ns()
        v, (a, b, c, d, e) = _values(n, 1)[0], _values(n, 5)
        s1, s5 = array("q", bytes(8 * n)), array("q", bytes(8 * n))

        nbtrack.start(name="log-overhead-1", store=store)
        nbtrack.flush()
        before = dir_bytes(tmp / "store")
        log = nbtrack.log
        for i in range(n):
            t0 = clock()
            log(step=i, loss=v[i])
            s1[i] = clock() - t0
        t0 = clock()
        nbtrack.flush()
        t1 = clock()
        nbtrack.finish()
        t2 = clock()
        s1_bytes = dir_bytes(tmp / "store") - before

        nbtrack.start(name="log-overhead-5", store=store)
        nbtrack.flush()
        before = dir_bytes(tmp / "store")
        for i in range(n):
            t0_ = clock()
            log(step=i, loss=a[i], acc=b[i], lr=c[i], grad_norm=d[i], val_loss=e[i])
            s5[i] = clock() - t0_
        nbtrack.finish()
        s5_bytes = dir_bytes(tmp / "store") - before
        life = _lifecycle(lambda k: nbtrack.start(name=f"empty-{k}", store=store), nbtrack.finish)
        return {
            "lifecycle_ms": life,
            **_stats("s1", s1, over),
            **_stats("s5", s5, over),
            "flush_ms": (t1 - t0) / 1e6,
            "finish_ms": (t2 - t0) / 1e6,
            "s1_bytes": _per_100k(s1_bytes, n),
            "s5_bytes": _per_100k(s5_bytes, 5 * n),
        }


def mlflow_case(n: int) -> dict[str, Any]:
    with scratch_dir() as tmp:
        os.chdir(tmp)
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
        exp = mlflow.create_experiment("bench", artifact_location=(tmp / "art").as_uri())
        clock, over = time.perf_counter_ns, timer_overhead_ns()
        v, (a, b, c, d, e) = _values(n, 1)[0], _values(n, 5)
        s1, s5 = array("q", bytes(8 * n)), array("q", bytes(8 * n))

        mlflow.start_run(experiment_id=exp)
        before = dir_bytes(tmp)
        log_metric, log_metrics = mlflow.log_metric, mlflow.log_metrics
        for i in range(n):
            t0 = clock()
            log_metric("loss", v[i], step=i)
            s1[i] = clock() - t0
        t0 = clock()
        mlflow.end_run()
        t2 = clock()
        s1_bytes = dir_bytes(tmp) - before

        mlflow.start_run(experiment_id=exp)
        before = dir_bytes(tmp)
        for i in range(n):
            t0_ = clock()
            log_metrics(
                {"loss": a[i], "acc": b[i], "lr": c[i], "grad_norm": d[i], "val_loss": e[i]}, step=i
            )
            s5[i] = clock() - t0_
        mlflow.end_run()
        s5_bytes = dir_bytes(tmp) - before
        life = _lifecycle(lambda k: mlflow.start_run(experiment_id=exp), mlflow.end_run)
        return {
            "lifecycle_ms": life,
            **_stats("s1", s1, over),
            **_stats("s5", s5, over),
            "finish_ms": (t2 - t0) / 1e6,
            "s1_bytes": _per_100k(s1_bytes, n),
            "s5_bytes": _per_100k(s5_bytes, 5 * n),
        }


def _wandb_init(wandb: Any, tmp: Path, name: str) -> Any:
    settings = wandb.Settings(
        console="off", x_disable_stats=True, disable_git=True, save_code=False, silent=True
    )
    return wandb.init(dir=str(tmp), project="bench", name=name, mode="offline", settings=settings)


def _wandb_log_bytes(run_dir: Path) -> int:
    return sum(p.stat().st_size for p in run_dir.glob("*.wandb"))


def wandb_case(n: int) -> dict[str, Any]:
    with scratch_dir() as tmp:
        os.chdir(tmp)
        for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
            os.environ[var] = str(tmp)
        os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true")
        import wandb

        clock, over = time.perf_counter_ns, timer_overhead_ns()
        v, (a, b, c, d, e) = _values(n, 1)[0], _values(n, 5)
        s1, s5 = array("q", bytes(8 * n)), array("q", bytes(8 * n))

        run = _wandb_init(wandb, tmp, "log-overhead-1")
        run_dir = Path(run.dir).parent
        before = _wandb_log_bytes(run_dir)
        log = wandb.log
        for i in range(n):
            t0 = clock()
            log({"loss": v[i]}, step=i)
            s1[i] = clock() - t0
        t0 = clock()
        wandb.finish()
        t2 = clock()
        s1_bytes = _wandb_log_bytes(run_dir) - before

        run = _wandb_init(wandb, tmp, "log-overhead-5")
        run_dir = Path(run.dir).parent
        before = _wandb_log_bytes(run_dir)
        log = wandb.log
        for i in range(n):
            t0_ = clock()
            log(
                {"loss": a[i], "acc": b[i], "lr": c[i], "grad_norm": d[i], "val_loss": e[i]}, step=i
            )
            s5[i] = clock() - t0_
        wandb.finish()
        s5_bytes = _wandb_log_bytes(run_dir) - before
        life = _lifecycle(lambda k: _wandb_init(wandb, tmp, f"empty-{k}"), wandb.finish)
        return {
            "lifecycle_ms": life,
            **_stats("s1", s1, over),
            **_stats("s5", s5, over),
            "finish_ms": (t2 - t0) / 1e6,
            "s1_bytes": _per_100k(s1_bytes, n),
            "s5_bytes": _per_100k(s5_bytes, 5 * n),
        }


# ---------------------------------------------------------------- rows


def measure(quick: bool = False) -> list[Row]:
    n = 2_000 if quick else 100_000
    n_mlflow = 50 if quick else MLFLOW_STEPS
    notes: list[str] = []
    floor = run_isolated(f"benchmarks.{NAME}:floor_case", n=n)
    nbt = run_isolated(f"benchmarks.{NAME}:nbtrack_case", n=n)
    mlf = peer(f"benchmarks.{NAME}:mlflow_case", notes, n=n_mlflow)
    wdb = peer(f"benchmarks.{NAME}:wandb_case", notes, n=n)
    res = {"nbtrack": nbt, "mlflow": mlf, "wandb": wdb, "floor": floor}
    mlf_note = f"MLflow on {n_mlflow:,} steps (sync SQLite), others on {n:,}"
    fn_floor = pick(floor, "fn_median_ns")
    fn_note = (
        f"; a minimal `def log(step=None, **kw): buf.append((step, kw))` costs {fn_floor:.0f} ns"
        if fn_floor
        else ""
    )

    def row(key: str, figure: str, unit: str, scale: float = 1.0, **kw: Any) -> Row:
        vals = {tool: pick(r, key, scale) for tool, r in res.items()}
        return Row(
            NAME, figure, unit, vals["nbtrack"], vals["mlflow"], vals["wandb"], vals["floor"], **kw
        )

    def speed_target(key: str) -> dict[str, Any]:
        r = row(key, "", "")
        met = all_met(
            lt(r.nbtrack, 5_000),
            lt(r.nbtrack, None if r.mlflow is None else r.mlflow / 50),
            lt(r.nbtrack, r.wandb),
            lt(r.nbtrack, None if r.floor is None else r.floor * 10),
        )
        return {"target": "< 5 µs, ≥ 50x MLflow, < W&B, ≤ 10x floor", "met": met}

    rows = [
        row(
            "s1_median_ns",
            "log() 1 scalar: median",
            "ns",
            **speed_target("s1_median_ns"),
            note=mlf_note + "; floor = inline list.append((step, v))" + fn_note,
        ),
        row("s1_p99_ns", "log() 1 scalar: p99", "ns"),
        row("s1_mean_ns", "log() 1 scalar: mean", "ns", note="mean = sum of per-call timings / n"),
        row(
            "s5_median_ns",
            "log() 5 scalars: median",
            "ns",
            **speed_target("s5_median_ns"),
            note=mlf_note + "; MLflow uses log_metrics (1 batch call)",
        ),
        row("s5_p99_ns", "log() 5 scalars: p99", "ns"),
        row("s5_mean_ns", "log() 5 scalars: mean", "ns"),
        row(
            "finish_ms",
            f"flush+finish after {n:,} steps",
            "ms",
            note=f"MLflow end_run after {n_mlflow:,} steps; W&B finish() incl. service flush",
        ),
        row(
            "lifecycle_ms",
            "start()+finish(), empty run",
            "ms",
            note="median of 3; nbtrack's finish waits for its environment capture "
            "(packages, git); MLflow start_run/end_run; W&B init/finish",
        ),
        row(
            "s1_bytes",
            "disk per 100k points, 1/step",
            "KB",
            1e-3,
            note="floor = raw int64 step + float64 value (16 B/point); W&B: its .wandb log file",
        ),
        row(
            "s5_bytes",
            "disk per 100k points, 5/step",
            "KB",
            1e-3,
            note="floor = raw int64 step + 5 float64 per step (9.6 B/point)",
        ),
    ]
    if notes:
        rows[0].note += "; " + "; ".join(notes)
    return rows


if __name__ == "__main__":
    main(measure)
