"""A fresh machine's index of a team bucket: first sync of 1,000 runs, then 10 new runs.

The bucket is a real S3-protocol server on loopback (moto in server mode, its own process;
tests/servers.py starts it). 1,000 runs are written into it live through nbtrack's API by 2
writer processes, as colleagues' kernels would (name, 2 tags, 3 params, 10 steps of 2 metrics,
one environment record shared by all: see ``query._capture_environment_once``); each run's log
is a few immutable segments, one per write. Then, each in a fresh process with its own index:

- fresh sync: an empty machine-local index brought up to date (``store.index.refresh()``):
  one recursive listing of the bucket, then every run's segments fetched concurrently.
- incremental sync: 10 more runs are written by another process; the already-synced index
  refreshes (one listing, only the new runs' segments fetched).
- no-change refresh: the same with nothing new (the cost of a table refresh).

Floors: the raw transfer a sync cannot avoid, measured with s3fs alone in the same setting:
for the fresh sync, one listing plus fetching every log segment; for the incremental and
no-change figures, one listing. MLflow and W&B have no shared-bucket index to compare with.
moto answers ~10 ms per request on this machine (real S3 serves concurrent GETs in parallel),
so the absolute figures are a loopback upper bound.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks._common import (
    Row,
    all_met,
    import_nbtrack,
    lt,
    main,
    pick,
    run_isolated,
    scratch_dir,
)

NAME = "sync"
STEPS = 10


def write_runs(url: str, first: int, count: int, index_dir: str) -> dict[str, Any]:
    """Child: `count` runs written live into the bucket."""
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    nbtrack = import_nbtrack()
    from benchmarks.query import _capture_environment_once

    _capture_environment_once()
    started = time.perf_counter()
    for i in range(first, first + count):
        nbtrack.start(
            name=f"run-{i}",
            tags=("bench", f"group-{i % 10}"),
            params={"lr": 10 ** -(i % 4), "seed": i, "arch": f"net{i % 3}"},
            store=url,
        )
        for step in range(STEPS):
            nbtrack.log(step=step, loss=1.0 / (step + 1 + i % 3), acc=step / STEPS)
        nbtrack.finish()
    return {"seconds": time.perf_counter() - started}


def refresh_index(url: str, index_dir: str) -> dict[str, Any]:
    """Child: open the store and bring this machine's index up to date; time it."""
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    import_nbtrack()
    import fsspec

    fsspec.get_filesystem_class(url.split("://", 1)[0])  # imports s3fs: process start-up, not sync

    from nbtrack.store import fsspec_backend  # noqa: F401
    from nbtrack.store.store import _OPEN, open_store

    _OPEN.clear()  # a fresh look, as a new process has (quick mode runs phases in one process)
    started = time.perf_counter()
    store = open_store(url)
    changed = store.index.refresh()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "changed": changed, "runs": len(store.index.summaries())}


def raw_transfer(url: str, fetch: bool) -> dict[str, Any]:
    """Child: the floor, with fsspec alone: one recursive listing (and every log segment)."""
    from urllib.parse import parse_qsl, urlsplit

    import fsspec

    parts = urlsplit(url)
    base = url.split("?", 1)[0]
    fsspec.get_filesystem_class(parts.scheme)  # as in refresh_index: imports are not timed
    started = time.perf_counter()
    fs, root = fsspec.core.url_to_fs(base, use_listings_cache=False, **dict(parse_qsl(parts.query)))
    found = fs.find(f"{root.rstrip('/')}/runs")
    if fetch:
        fs.cat(list(found))
    return {"seconds": time.perf_counter() - started, "objects": len(found)}


def quick_case(runs: int, new: int, work: str) -> dict[str, Any]:
    """Child, quick mode: every phase in one process on a ``memory://`` bucket (no server)."""
    url = f"memory://nbtrack-bench-sync-{os.getpid()}"
    writers, reader = f"{work}/writers", f"{work}/fresh-machine"
    write_runs(url, 0, runs, writers)
    result = {"fresh": refresh_index(url, reader), "download": raw_transfer(url, True)}
    write_runs(url, runs, new, writers)
    result |= {
        "incremental": refresh_index(url, reader),
        "unchanged": refresh_index(url, reader),
        "listing": raw_transfer(url, False),
    }
    return result


def _write_parallel(url: str, first: int, count: int, index_dir: str, writers: int) -> None:
    share = [count // writers + (1 if w < count % writers else 0) for w in range(writers)]
    starts = [first + sum(share[:w]) for w in range(writers)]
    with ThreadPoolExecutor(writers) as pool:
        list(
            pool.map(
                lambda w: run_isolated(
                    "benchmarks.sync:write_runs",
                    url=url,
                    first=starts[w],
                    count=share[w],
                    index_dir=index_dir,
                ),
                range(writers),
            )
        )


def _moto_case(runs: int, new: int) -> dict[str, Any]:
    from tests.servers import start_s3_server

    with scratch_dir("nbtrack-bench-sync-") as work:
        server = start_s3_server(work)
        try:
            url = server.url("bench")
            _write_parallel(url, 0, runs, str(work / "writers"), writers=2)
            reader = str(work / "fresh-machine")
            result = {
                "fresh": run_isolated("benchmarks.sync:refresh_index", url=url, index_dir=reader),
                "download": run_isolated("benchmarks.sync:raw_transfer", url=url, fetch=True),
            }
            _write_parallel(url, runs, new, str(work / "writers"), writers=1)
            result |= {
                "incremental": run_isolated(
                    "benchmarks.sync:refresh_index", url=url, index_dir=reader
                ),
                "unchanged": run_isolated(
                    "benchmarks.sync:refresh_index", url=url, index_dir=reader
                ),
                "listing": run_isolated("benchmarks.sync:raw_transfer", url=url, fetch=False),
            }
        finally:
            server.stop()
    return result


def measure(quick: bool = False) -> list[Row]:
    runs, new = (20, 2) if quick else (1_000, 10)
    where = "memory:// (quick: no server)" if quick else "moto S3 server on loopback"
    try:
        import fsspec  # noqa: F401

        if not quick:
            import moto.server  # noqa: F401 - the S3-protocol server
            import s3fs  # noqa: F401
    except ImportError as exc:
        note = f"not measured: {exc.name} is not installed (pip install 'moto[server]' s3fs)"
        return [Row(NAME, f"fresh index sync, {runs} runs", "s", None, note=note)]
    if quick:
        with scratch_dir("nbtrack-bench-sync-") as work:
            found = run_isolated("benchmarks.sync:quick_case", runs=runs, new=new, work=str(work))
    else:
        found = _moto_case(runs, new)
    results: dict[str, Any] = found or {}
    fresh, incremental = results.get("fresh"), results.get("incremental")
    if fresh and (fresh["changed"] != runs or fresh["runs"] != runs):
        raise RuntimeError(f"fresh sync saw {fresh['changed']} of {runs} runs")
    if incremental and incremental["changed"] != new:
        raise RuntimeError(f"incremental sync saw {incremental['changed']} new runs, not {new}")
    segments = f"{int(pick(results.get('download'), 'objects') or 0)} log segments"
    fresh_s = pick(fresh, "seconds")
    inc_s = pick(incremental, "seconds")
    same_s = pick(results.get("unchanged"), "seconds")
    listing = pick(results.get("listing"), "seconds")
    download = pick(results.get("download"), "seconds")
    return [
        Row(NAME, f"fresh index sync, {runs} runs", "s", fresh_s, floor=download,
            target="< 2x floor", met=lt(fresh_s, 2 * download if download else None),
            note=f"{where}; {segments}; floor: list + fetch every segment with fsspec alone"),
        Row(NAME, f"incremental sync, {new} new runs", "s", inc_s, floor=listing,
            target="< 1.5x floor", met=lt(inc_s, 1.5 * listing if listing else None),
            note="floor: one recursive listing of the bucket"),
        Row(NAME, "refresh with nothing new", "s", same_s, floor=listing,
            target="< 1.2x floor", met=all_met(lt(same_s, 1.2 * listing if listing else None)),
            note="floor: one recursive listing of the bucket"),
    ]

if __name__ == "__main__":
    main(measure)
