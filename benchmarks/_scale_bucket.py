"""The bucket part of the scale benchmark (``benchmarks/scale.py``, issue 19): a fresh machine
joining a team's bucket of 10,000 and then 100,000 runs.

The bucket is moto's S3 server on loopback, each request held 20 ms like a real bucket
(``benchmarks/_slow_s3.py``). Each step runs in its own process:

1. **Colleagues' runs** (each written whole by ``WholeRun.write``, finished) are written once by
   nbtrack's bucket backend on a local folder (``FsspecBackend`` on ``file://``: the keys and bytes
   it PUTs on a bucket, ``tests/benchmarks/test_bucket_fill.py``), 1,000 runs a folder, and kept
   in the work dir.
2. **The team's bucket grows** 1,000 runs at a time: the server takes a folder's objects in
   through moto's own ``put_object`` (not over HTTP, which costs a listing of the whole bucket
   per new log), then **another machine packs them** with ``nbtrack compact``, over HTTP at 20 ms a
   request: the packs are exactly what a client writes, as many as a team's clients write (a
   client's refresh packs past 1,000 loose finished runs), 100 of them at 100,000 runs.
3. **A fresh machine** (a new process, an empty index) is ready when its first ``runs()`` returns
   every run; then ``runs()`` in another new process with that now warm index. The server counts
   the requests each made and the CPU seconds moto spent on them (a listing sorts every key of
   the bucket, which a real bucket does not).

MLflow's ``search_runs`` (SQLite) on 10,000 runs of the same shape, in a new process, gives the
ratio against the warm ``runs()`` on the 10,000-run bucket.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, WORK_DIR, Row, lt, peer, run_isolated, scratch_dir

NAME = "scale"
DELAY = 0.020  # seconds per request of the slowed S3 server
SIZES = (10_000, 100_000)
QUICK_SIZES = (200, 400)
PACK_EVERY, QUICK_EVERY = 1_000, 100  # runs the team adds between two packings
BASE = 1_700_000_000.0  # the first colleague's run started then; one every 5 minutes after
TARGET_RUNS, TARGET_S = 100_000, 60.0
CHILD = "benchmarks._scale_bucket"


# ---------------------------------------------------------------- colleagues' runs (children)


def colleague_run(i: int) -> Any:
    """Run `i` of the team, whole and finished: name, user, 2 tags, 3 params, 10 steps of 2 metrics
    (its id is derived from `i`, so the same run is the same bytes wherever it is written)."""
    from nbtrack.api.whole import WholeRun
    from nbtrack.core.ids import derived_run_id

    started = BASE + i * 300
    run = WholeRun(derived_run_id(started, f"colleague-{i}"), started,
                   {"name": f"run-{i}", "user": f"user{i % 7}", "tags": ["bench", f"group-{i % 10}"]})
    run.params({"lr": 10 ** -(1 + i % 4), "batch": 2 ** (4 + i % 5), "arch": f"net{i % 7}"})
    for step in range(10):
        run.metrics_at(step, {"loss": 1.0 / (step + 1 + i % 3), "acc": step / 10}, ts=started + step)
    return run


def write_runs(url: str, first: int, count: int) -> dict[str, Any]:
    """Child: colleagues' runs `first`.. written whole to the store at `url` through nbtrack's
    bucket backend (a ``file://`` URL: that backend on a local folder)."""
    from nbtrack.store.fsspec_backend import FsspecBackend
    from nbtrack.store.store import Store

    store = Store(FsspecBackend(url))
    t0 = time.perf_counter()
    for i in range(first, first + count):
        colleague_run(i).write(store, BASE + i * 300 + 60)
    return {"seconds": time.perf_counter() - t0}


def write_folders(parts: list[tuple[str, int, int]]) -> dict[str, Any]:
    """Child: for each (folder, first, count), colleagues' runs `first`.. written to a store in
    `folder` by nbtrack's bucket backend on the local filesystem, then the folder marked complete."""
    import shutil

    for folder, first, count in parts:
        shutil.rmtree(Path(folder) / "store", ignore_errors=True)  # what an interrupted child left
        write_runs(f"file://{folder}/store?auto_mkdir=true", first, count)
        (Path(folder) / ".complete").write_text("ok")
    return {}


def runs_folders(first: int, count: int, every: int) -> list[Path]:
    """Local folders holding colleagues' runs `first`.. (`every` runs each) as a bucket holds them;
    written by 2 processes when missing, then kept in the work dir."""
    from benchmarks.query import _format_key

    base = WORK_DIR / NAME / f"bucket-runs-{_format_key()}"
    parts = [(base / f"{start}-{min(every, first + count - start)}", start, min(every, first + count - start))
             for start in range(first, first + count, every)]
    missing = [(str(folder), start, n) for folder, start, n in parts if not (folder / ".complete").exists()]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda half: run_isolated(f"{CHILD}:write_folders", parts=half, timeout=3600),
                      [half for half in (missing[::2], missing[1::2]) if half]))
    return [folder / "store" for folder, _start, _n in parts]


# ---------------------------------------------------------------- readers (children)


def pack_as_runs_arrive(url: str, index_dir: str, folders: list[str], endpoint: str) -> dict[str, Any]:
    """Child: a machine of the team packs the runs as they arrive: the colleagues' runs of each
    folder appear in the bucket, then it runs ``nbtrack compact`` (a refresh, then a summary pack
    of the loose finished runs; its own refresh leaves the packing to `compact`), but for the last
    folder's runs: they arrive after its last look, and stay loose."""
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    os.environ["NBTRACK_PACK_MIN_RUNS"] = "0"
    from benchmarks._common import import_nbtrack

    import_nbtrack()
    from nbtrack.store.compaction import compact
    from nbtrack.store.store import open_store

    store = open_store(url)
    bucket, prefix = url.split("://", 1)[1].split("?")[0].split("/", 1)
    found = {"seconds": 0.0, "load_s": 0.0, "runs": 0, "packs": 0}
    for i, folder in enumerate(folders):
        found["load_s"] += load_folder(endpoint, bucket, prefix, folder)["seconds"]
        if i == len(folders) - 1:
            break
        t0 = time.perf_counter()
        store.index.refresh()
        report = compact(store.index, store.backend)
        found["seconds"] += time.perf_counter() - t0
        found["runs"] += report.runs
        found["packs"] += len(report.summary_packs)
    return found


# ---------------------------------------------------------------- the server


class SlowS3:
    """``benchmarks._slow_s3`` in its own process, with one bucket."""

    def __init__(self, work: Path) -> None:
        from tests.servers import BUCKET, S3_ENV, free_port, wait_for_http

        os.environ.update(S3_ENV)
        self.switch = work / "delay"
        port = free_port()
        self.log = open(work / "moto.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._slow_s3", "127.0.0.1", str(port), str(self.switch)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=os.environ | S3_ENV,
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        wait_for_http(self.endpoint, self.process)
        import s3fs

        s3fs.S3FileSystem(endpoint_url=self.endpoint).mkdir(BUCKET)
        self.bucket = BUCKET

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}?endpoint_url={self.endpoint}"

    def slow(self, on: bool) -> None:
        self.switch.write_text(str(DELAY) if on else "0")
        time.sleep(0.6)  # the server reads the switch at most every half second

    def stats(self) -> dict[str, Any]:
        """The requests served since the last call, by kind, and moto's own seconds on them."""
        return _control(self.endpoint, "stats")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def _control(endpoint: str, path: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(f"{endpoint}/_bench/{path}", method=method)
    with urllib.request.urlopen(request, timeout=3600) as answer:
        found: dict[str, Any] = json.loads(answer.read())
    return found


def load_folder(endpoint: str, bucket: str, prefix: str, folder: str | Path) -> dict[str, Any]:
    """Every file of `folder` put at ``prefix/<relative path>`` in the bucket (not over HTTP)."""
    from urllib.parse import urlencode

    return _control(endpoint, "load?" + urlencode({"bucket": bucket, "prefix": prefix, "folder": str(folder)}), "POST")


def _served(stats: dict[str, Any]) -> str:
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(stats["requests"].items()))
    return f"{sum(stats['requests'].values())} requests ({kinds}), moto's own work {stats['moto_s']:.2f} s"


def _load_average() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# ---------------------------------------------------------------- rows


def pack_every() -> int:
    """Runs the team adds between two ``nbtrack compact`` of the packing machine (what a client's
    refresh packs past 1,000 loose finished runs); NBTRACK_BENCH_PACK_EVERY changes it."""
    return int(os.environ.get("NBTRACK_BENCH_PACK_EVERY") or PACK_EVERY)


def bucket_rows(quick: bool, notes: list[str]) -> list[Row]:
    sizes, every = (QUICK_SIZES, QUICK_EVERY) if quick else (SIZES, pack_every())
    rows: list[Row] = []
    with scratch_dir("nbtrack-bench-scale-") as work:
        server = SlowS3(work)
        try:
            url, written, packs, in_packs = server.url("team"), 0, 0, 0
            for n in sizes:
                folders = runs_folders(written, n - written, every)
                server.slow(True)
                packed = run_isolated(f"{CHILD}:pack_as_runs_arrive", url=url, index_dir=str(work / "packer"),
                                      folders=[str(f) for f in folders], endpoint=server.endpoint, timeout=3600)
                written, packs, in_packs = n, packs + packed["packs"], in_packs + packed["runs"]
                found = {"packed": packed, "packing_served": server.stats(), "found": (packs, n - in_packs)}
                # a fresh machine finds the last `every` runs loose (and packs them if that is 1,000 or
                # more, as any client's refresh does); then its index warm; then a fresh machine
                # that finds what the first left (every run in a pack, when it packed)
                for name, cold, machine in (("ready", True, "fresh"), ("warm", False, "fresh"),
                                            ("again", True, "fresh-again")):
                    found[f"{name}_load"] = _load_average()
                    found[name] = run_isolated(f"benchmarks.{NAME}:runs_frame", store=url, n=n, cold=cold,
                                               index_dir=str(work / machine))
                    found[f"{name}_served"] = server.stats()
                packs, in_packs = found["ready"]["packs"], n - found["ready"]["loose"]
                found["found_again"] = (packs, n - in_packs)
                if os.environ.get("NBTRACK_BENCH_PROFILE"):  # once more, profiled: where the time goes
                    for name, cold in (("ready", True), ("warm", False)):
                        run_isolated(f"benchmarks.{NAME}:runs_frame", store=url, index_dir=str(work / "profiled"), n=n,
                                     cold=cold, profile=str(WORK_DIR / NAME / f"profile-{name}-{n}.prof"))
                    server.stats()
                _log(n, found)
                rows += _rows(n, every, found, notes, with_mlflow=n == sizes[0])
        finally:
            server.stop()
    return rows


def _rows(n: int, every: int, found: dict[str, Any], notes: list[str], with_mlflow: bool) -> list[Row]:
    size, target = f"{n:,}", f"< {TARGET_S:.0f} s at {TARGET_RUNS:,}"
    packer = found["packed"]

    def fresh(name: str, figure: str, layout: tuple[int, int]) -> Row:
        ready = found[name]
        wrote = ready["packs"] - layout[0]
        return Row(NAME, figure, "s", ready["seconds"], target=target,
                   met=lt(ready["seconds"], TARGET_S) if n >= TARGET_RUNS else None,
                   note=f"found {layout[0]} summary pack{'s' * (layout[0] != 1)} and {layout[1]:,} loose runs"
                        f"{f', wrote {wrote} pack of them' if wrote else ''}; {_served(found[f'{name}_served'])}; "
                        f"CPU {ready['cpu_s']:.2f} s; {found[f'{name}_load']}")

    first = fresh("ready", f"fresh machine ready, {size} runs on the bucket (20 ms/request)", found["found"])
    first.note += (f"; the packs written over HTTP at 20 ms/request by another machine's nbtrack compact after "
                   f"every {every:,} new runs ({packer['runs']:,} runs in {packer['seconds']:.0f} s)")
    again = fresh("again", f"second fresh machine ready, {size} runs on the bucket", found["found_again"])
    warm = found["warm"]
    second = Row(NAME, f"runs() {size} runs on the bucket, warm index, new process", "s", warm["seconds"],
                 note=f"{_served(found['warm_served'])}; CPU {warm['cpu_s']:.2f} s; {found['warm_load']}")
    if with_mlflow:
        second.mlflow = _mlflow(n, notes)
    return [first, second, again]


def _log(n: int, found: dict[str, Any]) -> None:
    """Everything measured at `n` runs, appended to the work dir's ``scale/bucket.jsonl``."""
    log = WORK_DIR / NAME / "bucket.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(json.dumps({"n": n, "at": time.time(), **found}) + "\n")


def _mlflow(n: int, notes: list[str]) -> float | None:
    from benchmarks import query

    db = WORK_DIR / "query" / f"mlflow-{n}"
    try:
        query._cached(db, lambda: query._build_mlflow_or_fail(db / "mlflow.db", n, notes))
    except query._PeerMissing:
        return None
    found = peer("benchmarks.query:mlflow_search", notes, db=str(db / "mlflow.db"), n=n)
    return None if found is None else float(found["first_s"])
