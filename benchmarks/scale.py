"""Team scale: 100,000 runs, a bucket shared by many machines, million-point curves (issue 19).

- **Local store, 100,000 runs** (the store ``query`` builds and caches: name, 2 tags, 3 params,
  10 steps of 2 metrics each; it holds the summary pack a refresh wrote past 1,000 loose runs):
  ``runs()`` in a new process with a warm index; a run-table page (``api.rows.page``: 50 rows,
  newest first, then a filter with a sort by a metric) in a process whose index is warm; the cold
  index build (index deleted, first ``runs()`` in a new process) from the packs and from the logs
  alone (a copy of the store without ``packs/``, hard links).
- **Bucket** (``benchmarks/_scale_bucket.py``): a fresh machine (empty index) joining a team's
  bucket of 10,000 and 100,000 runs (packed by another machine 1,000 at a time, the last 1,000
  loose), on moto's S3 server on loopback slowed to 20 ms a request, is ready when its first
  ``runs()`` returns every run; then ``runs()`` with that index warm, against MLflow
  ``search_runs`` (SQLite) on 10,000 runs of the same shape; then a second fresh machine.
- **Long curves**: 10 runs of 1,000,000 points each, logged with ``nbtrack.log`` (so each stored
  its min/max envelope when it finished); in a new process, the comparison's curves (what the
  compare view and ``GET runs/ID/metrics?points=W`` send: ``Run.curves(1000)`` for every run)
  and the whole ``nbtrack.compare()``; and ``get_run().metrics`` of one run of 10,000,000 points
  (wall time and peak memory).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks._common import (
    WORK_DIR,
    Row,
    all_met,
    import_nbtrack,
    lt,
    main,
    run_isolated,
)
from benchmarks._scale_bucket import bucket_rows

NAME = "scale"
LOCAL_RUNS = 100_000
LONG_RUNS, LONG_POINTS, LONGEST = 10, 1_000_000, 10_000_000
QUICK = {"local": 300, "long": (3, 20_000, 50_000)}


CHILD_LOG = WORK_DIR / NAME / "children.jsonl"  # what every child returned, as it returned it


def _logged(name: str, result: dict[str, Any], **context: Any) -> dict[str, Any]:
    CHILD_LOG.parent.mkdir(parents=True, exist_ok=True)
    with CHILD_LOG.open("a") as out:
        out.write(json.dumps({"child": name, "at": time.time(), **context, **result}) + "\n")
    return result


# ---------------------------------------------------------------- local store (children)


def table_page(store: str, index_dir: str) -> dict[str, Any]:
    """Child: a run-table page (50 rows) in a process whose index is warm."""
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    import_nbtrack()
    from nbtrack.api.rows import page
    from nbtrack.store.store import open_store

    target = open_store(store)
    target.index.refresh()
    figures = {}
    for name, query in (("newest", {"sort": "start", "desc": True}),
                        ("filtered", {"filter": "lr<0.01 tag=group-3", "sort": "metrics.loss.last"})):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            found = page(target, limit=50, **query)
            times.append(time.perf_counter() - t0)
            if len(found.rows) != min(50, found.total) or not found.rows:
                raise AssertionError(f"a page of {len(found.rows)} rows of {found.total}")
        figures[name] = min(times[1:])  # the first pays the imports of the row classes
        figures[f"{name}_first"] = times[0]
    return _logged("table_page", figures, store=store)


def logs_only_copy(store: Path, target: Path) -> None:
    """`store` without its packs (hard links: instant, no extra space)."""
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        subprocess.run(["cp", "-al", str(store), str(target / "store")], check=True)
        shutil.rmtree(target / "store" / "packs", ignore_errors=True)
        (target / ".complete").write_text("ok")


# ---------------------------------------------------------------- runs() (children)


def runs_frame(store: str, index_dir: str, n: int, cold: bool = False, min_pack: int | None = None,
               profile: str | None = None) -> dict[str, Any]:
    """Child: the first ``runs()`` of a new process (`cold`: with its index deleted first;
    `profile`: a path where cProfile's statistics of the call are written, for looking into it)."""
    if cold:
        shutil.rmtree(index_dir, ignore_errors=True)
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    if min_pack is not None:
        os.environ["NBTRACK_PACK_MIN_RUNS"] = str(min_pack)
    nbtrack = import_nbtrack()
    import pandas  # noqa: F401  (import time is not query time)

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0, cpu = time.perf_counter(), time.process_time()
    frame = nbtrack.runs(store=store)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    if len(frame) != n:
        raise AssertionError(f"runs() returned {len(frame)} rows, expected {n}")
    figures = {"seconds": seconds, "cpu_s": cpu}  # CPU: what the process needed, whatever else ran
    index = nbtrack.open_store(store).index  # what it holds now: summary packs, finished runs in none
    figures.update(packs=len(index.pack_seqs()), loose=index.loose_count())
    return _logged("runs_frame", figures, store=store.split("?")[0], n=n, cold=cold)


# ---------------------------------------------------------------- long curves (children)


def log_long(store: str, index_dir: str, name: str, points: int) -> dict[str, Any]:
    """Child: one run of `points` points of 'loss' logged live; returns its id."""
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    nbtrack = import_nbtrack()
    import math

    run = nbtrack.start(name=name, store=store)
    log = nbtrack.log
    t0 = time.perf_counter()
    for i in range(points):
        log(step=i, loss=math.exp(-i / points) + 0.01 * math.sin(i))
    nbtrack.finish()
    return {"id": run.id, "seconds": time.perf_counter() - t0}


def compare_long(store: str, index_dir: str, ids: list[str]) -> dict[str, Any]:
    """Child: the curves of a comparison of `ids` (new process, warm index), then compare()."""
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    nbtrack = import_nbtrack()
    from nbtrack.widgets.compare import curves_section

    nbtrack.get_run(ids[0], store=store).store.index.refresh()  # opening the index is not the chart
    t0 = time.perf_counter()
    section = curves_section([nbtrack.get_run(i, store=store) for i in ids], points=1000)
    curves_s = time.perf_counter() - t0
    size = len(json.dumps(section))
    counts = [line["count"] for chart in section["charts"] for line in chart["lines"]]
    t0 = time.perf_counter()
    nbtrack.compare(*ids, store=store)
    return _logged("compare_long", {"curves_s": curves_s, "compare_s": time.perf_counter() - t0, "bytes": size,
                                    "counts": counts})


def read_longest(store: str, index_dir: str, run_id: str) -> dict[str, Any]:
    """Child: ``get_run().metrics`` of one very long run: wall time and peak memory."""
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    nbtrack = import_nbtrack()
    import pandas  # noqa: F401

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    frame = nbtrack.get_run(run_id, store=store).metrics
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return _logged("read_longest", {"seconds": seconds, "points": len(frame), "peak_mb": peak / 1024,
                                    "added_mb": (peak - before) / 1024})


# ---------------------------------------------------------------- parent


def _local_rows(n: int, quick: bool) -> list[Row]:
    from benchmarks import query

    if quick:
        base = WORK_DIR / NAME / f"quick-{n}"
        store = query.nbtrack_store(base / "nbtrack", n)
    else:  # the 100k store the query benchmark builds (any build of it: logs are forward compatible)
        found = sorted((WORK_DIR / "query").glob(f"nbtrack-{n}-*/.complete"))
        store = found[0].parent / "store" if found else query.nbtrack_store(
            WORK_DIR / "query" / f"nbtrack-{n}-{query._format_key()}", n)
        base = WORK_DIR / NAME / f"local-{n}"
    base.mkdir(parents=True, exist_ok=True)
    index = str(base / "index")
    logs_only = base / "logs-only"
    logs_only_copy(store, logs_only)
    never = 10**9  # no pack written by the measured process
    cold_packs = run_isolated(f"benchmarks.{NAME}:runs_frame", store=str(store), index_dir=index, n=n, cold=True,
                              min_pack=never)
    warm = min((run_isolated(f"benchmarks.{NAME}:runs_frame", store=str(store), index_dir=index, n=n)
                for _ in range(2)), key=lambda r: r["seconds"])
    cold_logs = run_isolated(f"benchmarks.{NAME}:runs_frame", store=str(logs_only / "store"),
                             index_dir=str(base / "index-logs"), n=n, cold=True, min_pack=never)
    pages = run_isolated(f"benchmarks.{NAME}:table_page", store=str(store), index_dir=index)
    size = f"{n:,}"
    return [
        Row(NAME, f"runs() {size} local runs, warm index, new process", "s", warm["seconds"], target="< 1 s",
            met=lt(warm["seconds"], 1.0), note="best of 2 processes"),
        Row(NAME, f"run-table page of 50 from {size} runs (newest first)", "s", pages["newest"],
            target="< 0.05 s", met=lt(pages["newest"], 0.05), note=f"first call {pages['newest_first']:.3f} s"),
        Row(NAME, f"run-table page of 50 from {size} runs (filter + sort by a metric)", "s", pages["filtered"],
            target="< 0.05 s", met=lt(pages["filtered"], 0.05), note=f"first call {pages['filtered_first']:.3f} s"),
        Row(NAME, f"cold index build, {size} local runs (summary pack + loose logs)", "s", cold_packs["seconds"],
            target="< 10 s", met=lt(cold_packs["seconds"], 10.0)),
        Row(NAME, f"cold index build, {size} local runs (logs only, no pack)", "s", cold_logs["seconds"],
            target="< 10 s", met=lt(cold_logs["seconds"], 10.0)),
    ]


def _long_rows(runs: int, points: int, longest: int) -> list[Row]:
    base = WORK_DIR / NAME / f"long-{runs}x{points}"
    store, index = str(base / "store"), str(base / "index")
    ids_file = base / "ids.json"
    if not ids_file.exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        with ThreadPoolExecutor(2) as pool:
            made = list(pool.map(lambda i: run_isolated(f"benchmarks.{NAME}:log_long", store=store, index_dir=index,
                                                        name=f"long-{i}", points=points, timeout=3600), range(runs)))
        longest_run = run_isolated(f"benchmarks.{NAME}:log_long", store=store, index_dir=index, name="longest",
                                   points=longest, timeout=3600)
        ids_file.write_text(json.dumps({"ids": [m["id"] for m in made], "longest": longest_run["id"],
                                        "log_s": [m["seconds"] for m in made]}))
    ids = json.loads(ids_file.read_text())
    found = min((run_isolated(f"benchmarks.{NAME}:compare_long", store=store, index_dir=index, ids=ids["ids"])
                 for _ in range(2)), key=lambda r: r["curves_s"])
    if found["counts"] != [points] * runs:
        raise AssertionError(f"the curves stand for {found['counts']} points")
    read = run_isolated(f"benchmarks.{NAME}:read_longest", store=store, index_dir=index, run_id=ids["longest"])
    shape = f"{runs} x {points:,} points"
    return [
        Row(NAME, f"compare curves, {shape}", "s", found["curves_s"], target="< 1 s", met=lt(found["curves_s"], 1.0),
            note=f"stored envelopes at 1,000 px, {found['bytes'] / 1e3:.0f} KB of JSON; best of 2 processes"),
        Row(NAME, f"nbtrack.compare() whole view, {shape}", "s", found["compare_s"],
            note="also params, summaries, environment and the cell diff of the first two (their logs are read)"),
        Row(NAME, f"get_run().metrics, 1 run of {read['points']:,} points", "s", read["seconds"],
            note=f"peak RSS {read['peak_mb']:.0f} MB (+{read['added_mb']:.0f} MB for the read)"),
    ]


def measure(quick: bool = False) -> list[Row]:
    notes: list[str] = []
    rows: list[Row] = []
    local = QUICK["local"] if quick else LOCAL_RUNS
    runs, points, longest = QUICK["long"] if quick else (LONG_RUNS, LONG_POINTS, LONGEST)
    only = set(filter(None, os.environ.get("NBTRACK_BENCH_SCALE", "local,long,bucket").split(",")))
    if "local" in only:
        rows += _local_rows(local, quick)
    if "long" in only:
        rows += _long_rows(runs, points, longest)
    if "bucket" in only:
        rows += bucket_rows(quick, notes)
    if notes and rows:
        rows[0].note += "; " + "; ".join(notes)
    for row in rows:
        print(f"{row.figure}: {row.nbtrack}", file=sys.stderr, flush=True)
    return rows


__all__ = ["all_met", "measure"]

if __name__ == "__main__":
    main(measure)
