"""``nbtrack.runs()`` into a DataFrame for 10k and 100k runs, against MLflow ``search_runs``.

Each run has a name, 2 tags, 3 params and 10 steps of 2 metrics. The stores are built once
with nbtrack's public API (start/log/finish in a loop, 2 processes; the environment is
captured once and its record reused) and cached under ``benchmarks/.work/query/`` keyed by
size and by a hash of nbtrack's storage-format sources.

- cold: the machine-local index is deleted, then ``runs()`` in a fresh process rebuilds it.
- warm, new process: the index exists; first ``runs()`` of a fresh process (a new notebook).
- warm, same process: median of 3 repeated calls after the first.
- MLflow: SQLite backend, ``mlflow.search_runs(experiment_ids=[...])`` in a fresh process
  (first call = cold/new process, repeats = same process). MLflow has no index of its own, so
  its cold and warm-new-process figures are the same call. Creating runs in MLflow costs
  ~20 ms each, so it runs on 10k only (100k would take ~35 min to create).
- floor: ``pandas.DataFrame(list_of_dicts)`` of the same columns, already in memory.
The OS file cache is warm in every case (the store was just built or read).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks._common import (
    ROOT,
    WORK_DIR,
    Row,
    all_met,
    import_nbtrack,
    lt,
    main,
    peer,
    pick,
    run_isolated,
    scratch_dir,
    text_table,
)

NAME = "query"
SIZES = (10_000, 100_000)
MLFLOW_MAX = 10_000
STEPS = 10
BUILD_CHUNK = 10_000
FORMAT_SOURCES = (
    "core/framing.py",
    "core/records.py",
    "core/series.py",
    "store/store.py",
    "store/local.py",
)


def _format_key() -> str:
    digest = hashlib.sha256(str((ROOT / "nbtrack/capture/environment.py").exists()).encode())
    for rel in FORMAT_SOURCES:
        path = ROOT / "nbtrack" / rel
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()[:10]


def _params(i: int) -> dict[str, Any]:
    return {"lr": 10 ** -(1 + i % 4), "batch": 2 ** (4 + i % 5), "arch": f"net{i % 7}"}


# ---------------------------------------------------------------- store builders (children)


def _capture_environment_once() -> None:
    """Make every new run reuse one environment record instead of capturing it again.

    Capture (distributions, git, GPUs) costs ~0.1-0.2 s per run, which would make a 100k-run
    store take hours; the logs come out the same (one ``env`` record pointing at one blob).
    """
    from nbtrack.capture import environment
    from nbtrack.core import records

    cached: dict[str, str] = {}

    def env_once(run: Any) -> None:
        def work() -> list[Any]:
            if "sha" not in cached:
                data = json.dumps(environment.capture(), sort_keys=True, separators=(",", ":")).encode()
                cached["sha"] = run.store.put_blob(data)
            return [records.env(cached["sha"])]

        run.defer(work)

    environment.capture_for = env_once  # what nbtrack.start() calls for each run


def build_nbtrack(store: str, first: int, count: int) -> dict[str, Any]:
    os.environ["NBTRACK_INDEX_DIR"] = str(Path(store).parent / "build-index")
    nbtrack = import_nbtrack()
    _capture_environment_once()
    started = time.perf_counter()
    for i in range(first, first + count):
        nbtrack.start(
            name=f"run-{i}", tags=("bench", f"group-{i % 10}"), params=_params(i), store=store
        )
        for step in range(STEPS):
            nbtrack.log(step=step, loss=1.0 / (step + 1 + i % 3), acc=step / STEPS)
        nbtrack.finish()
    return {"seconds": time.perf_counter() - started}


def build_mlflow(db: str, count: int) -> dict[str, Any]:
    import mlflow
    from mlflow.entities import Metric, Param

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = mlflow.MlflowClient()
    exp = client.create_experiment("bench", artifact_location=Path(db).with_suffix(".art").as_uri())
    started = time.perf_counter()
    for i in range(count):
        run_id = client.create_run(
            exp, run_name=f"run-{i}", tags={"bench": "1", "group": str(i % 10)}
        ).info.run_id
        metrics = [Metric("loss", 1.0 / (s + 1 + i % 3), 0, s) for s in range(STEPS)]
        metrics += [Metric("acc", s / STEPS, 0, s) for s in range(STEPS)]
        params = [Param(k, str(v)) for k, v in _params(i).items()]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id)
    return {"seconds": time.perf_counter() - started}


def _cached(path: Path, build: Any) -> Path:
    """``path`` once ``build()`` completed into it (a marker file says so)."""
    done = path / ".complete"
    if done.exists():
        return path
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    build()
    done.write_text("ok")
    return path


def nbtrack_store(base: Path, n: int) -> Path:
    def build() -> None:
        store = str(base / "store")
        # chunks of <= 10k runs per process: nbtrack keeps one fd per finished run open
        parts = [(first, min(BUILD_CHUNK, n - first)) for first in range(0, n, BUILD_CHUNK)]
        with ThreadPoolExecutor(2) as pool:
            futures = [
                pool.submit(
                    run_isolated,
                    f"benchmarks.{NAME}:build_nbtrack",
                    timeout=7200,
                    store=store,
                    first=f,
                    count=c,
                )
                for f, c in parts
            ]
            for fut in futures:
                if fut.result() is None:
                    raise ImportError("nbtrack is not available", name="nbtrack")

    return _cached(base, build) / "store"


# ---------------------------------------------------------------- queries (children)


def _timed(call: Any) -> tuple[Any, float, float]:
    """``call()``'s result, wall seconds and CPU seconds of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _query_figures(call: Any, n: int, repeats: int) -> dict[str, Any]:
    df, first, first_cpu = _timed(call)
    if len(df) != n:
        raise AssertionError(f"the query returned {len(df)} rows, expected {n}")
    again = [_timed(call)[1:] for _ in range(repeats)]
    return {
        "first_s": first,
        "first_cpu_s": first_cpu,
        "repeat_s": min(w for w, _ in again),  # min: the least disturbed by other processes
        "repeat_cpu_s": min(c for _, c in again),
    }


def nbtrack_runs(
    store: str, index_dir: str, cold: bool, n: int, repeats: int = 3
) -> dict[str, Any]:
    if cold:
        shutil.rmtree(index_dir, ignore_errors=True)
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    nbtrack = import_nbtrack()
    import pandas  # noqa: F401  (import time is not query time)

    return _query_figures(lambda: nbtrack.runs(store=store), n, repeats)


def mlflow_search(db: str, n: int, repeats: int = 2) -> dict[str, Any]:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    exp = mlflow.MlflowClient().get_experiment_by_name("bench")  # opens the engine: not timed
    ids, most = [exp.experiment_id], max(n, 1000)
    return _query_figures(
        lambda: mlflow.search_runs(experiment_ids=ids, max_results=most), n, repeats
    )


def floor_frame(n: int, repeats: int = 3) -> dict[str, Any]:
    import pandas as pd

    records = [
        {
            "id": f"{i:026d}",
            "name": f"run-{i}",
            "status": "finished",
            "tags": ["bench", "g"],
            "start": 1.7e9 + i,
            "end": 1.7e9 + i + 5,
            **{f"params.{k}": v for k, v in _params(i).items()},
            "metrics.loss": 0.1,
            "metrics.acc": 0.9,
        }
        for i in range(n)
    ]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        pd.DataFrame.from_records(records)
        times.append(time.perf_counter() - t0)
    return {"first_s": statistics.median(times), "repeat_s": statistics.median(times)}


# ---------------------------------------------------------------- rows


def _measure_size(n: int, base: Path, notes: list[str], with_mlflow: bool) -> list[Row]:
    cache = base / f"nbtrack-{n}-{_format_key()}"
    for stale in base.glob(f"nbtrack-{n}-*"):  # built by an older storage format
        if stale != cache:
            shutil.rmtree(stale, ignore_errors=True)
    store = nbtrack_store(cache, n)
    index_dir = str(store.parent / "index")
    target = f"benchmarks.{NAME}:nbtrack_runs"
    cold = run_isolated(target, store=str(store), index_dir=index_dir, cold=True, n=n)
    warms = [
        run_isolated(target, store=str(store), index_dir=index_dir, cold=False, n=n)
        for _ in range(1 if n < 1000 else 2)  # quick mode: one
    ]
    warm = min(warms, key=lambda r: r["first_s"]) if all(warms) else None
    floor = run_isolated(f"benchmarks.{NAME}:floor_frame", n=n)
    mlf = None
    if with_mlflow:
        db = base / f"mlflow-{n}"
        try:
            _cached(db, lambda: _build_mlflow_or_fail(db / "mlflow.db", n, notes))
            mlf = peer(f"benchmarks.{NAME}:mlflow_search", notes, db=str(db / "mlflow.db"), n=n)
        except _PeerMissing:
            mlf = None
    size = f"{n:,}" if n < 1000 else f"{n // 1000}k"
    bound = 0.5 if n <= 10_000 else None
    tgt = "< 0.5 s" if bound else ""

    def row(
        figure: str,
        nbt: dict[str, Any] | None,
        key: str,
        mlf_key: str | None,
        with_target: bool,
        note: str = "",
    ) -> Row:
        value = pick(nbt, key)
        cpu = pick(nbt, key.replace("_s", "_cpu_s"))
        if cpu is not None:
            note = f"nbtrack CPU time {cpu:.2f} s" + (f"; {note}" if note else "")
        return Row(
            NAME,
            f"runs() {size} runs: {figure}",
            "s",
            value,
            mlflow=pick(mlf, mlf_key) if mlf_key else None,
            floor=pick(floor, "first_s"),
            target=tgt if with_target else "",
            met=all_met(lt(value, bound)) if with_target and bound else None,
            note=note,
        )

    mlf_note = "" if with_mlflow else f"; MLflow not run at {size} (≈20 ms/run to create)"
    return [
        row(
            "cold (index rebuilt)",
            cold,
            "first_s",
            "first_s",
            False,
            "MLflow: first search_runs in a fresh process (it has no index)",
        ),
        row(
            "warm, new process", warm, "first_s", "first_s", True, "best of 2 processes" + mlf_note
        ),
        row(
            "warm, same process",
            warm,
            "repeat_s",
            "repeat_s",
            True,
            "min of 3 calls; floor = pandas.DataFrame of the same rows from memory",
        ),
    ]


class _PeerMissing(Exception):
    pass


def _build_mlflow_or_fail(db: Path, n: int, notes: list[str]) -> None:
    result = peer(f"benchmarks.{NAME}:build_mlflow", notes, timeout=7200, db=str(db), count=n)
    if result is None:
        raise _PeerMissing


def measure(quick: bool = False) -> list[Row]:
    notes: list[str] = []
    rows: list[Row] = []
    if quick:
        with scratch_dir() as tmp:
            rows += _measure_size(100, tmp, notes, with_mlflow=True)
    else:
        for n in SIZES:
            rows += _measure_size(n, WORK_DIR / NAME, notes, with_mlflow=n <= MLFLOW_MAX)
            print(text_table(rows), file=sys.stderr, flush=True)  # progress: builds are slow
    if notes:
        rows[0].note += "; " + "; ".join(notes)
    return rows


if __name__ == "__main__":
    main(measure)
