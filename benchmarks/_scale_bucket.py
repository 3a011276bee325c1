"""The bucket part of the scale benchmark (``benchmarks/scale.py``, issue 19): a fresh machine
joining a team's bucket of 10,000 and then 100,000 runs.

The bucket is moto's S3 server on loopback, each request held 20 ms like a real bucket
(``benchmarks/_slow_s3.py``). The steps, each in its own process:

1. **Colleagues' runs** (each written whole by ``WholeRun.write``, finished) are written once by
   nbtrack's bucket backend on a local folder (``FsspecBackend`` on ``file://``: the keys and bytes
   it PUTs on a bucket) and cached in the work dir; the server loads them into its bucket through
   moto's own ``put_object``, not over HTTP (setup, not measured).
2. **Another machine packs them** over HTTP (``pack_bucket``: what ``nbtrack compact`` does), the
   server slowed to 20 ms a request: the packs are exactly what a client writes.
3. **A fresh machine** (a new process, an empty index) is ready when its first ``runs()`` returns
   every run; then ``runs()`` in another new process with that now warm index. The server counts
   the requests each made, and the seconds moto spent on them (moto sorts every key of the bucket
   for each listing, which a real bucket does not).

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
CHUNK = 10_000  # runs per cached folder (one child process writes one)
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


def runs_folder(first: int, count: int) -> Path:
    """The local folder holding colleagues' runs `first`.. as a bucket holds them (cached)."""
    from benchmarks.query import _format_key

    base = WORK_DIR / NAME / f"bucket-runs-{_format_key()}" / f"{first}-{count}"
    if not (base / ".complete").exists():
        import shutil

        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        run_isolated(f"{CHILD}:write_runs", url=f"file://{base / 'store'}?auto_mkdir=true", first=first,
                     count=count, timeout=3600)
        (base / ".complete").write_text("ok")
    return base / "store"


def fill_folders(first: int, count: int) -> list[Path]:
    """The folders of runs `first`.. in chunks of `CHUNK`, written 2 at a time when missing."""
    parts = [(start, min(CHUNK, first + count - start)) for start in range(first, first + count, CHUNK)]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda part: runs_folder(*part), parts))


# ---------------------------------------------------------------- readers (children)


def pack_bucket(url: str, index_dir: str) -> dict[str, Any]:
    """Child: another machine packs the bucket's finished runs (``nbtrack compact``: a refresh,
    then a summary pack of the loose finished runs; its refresh leaves the packing to `compact`)."""
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    os.environ["NBTRACK_PACK_MIN_RUNS"] = "0"
    from benchmarks._common import import_nbtrack

    import_nbtrack()
    from nbtrack.store.compaction import compact
    from nbtrack.store.store import open_store

    store = open_store(url)
    t0 = time.perf_counter()
    store.index.refresh()
    refreshed = time.perf_counter() - t0
    report = compact(store.index, store.backend)
    return {"seconds": time.perf_counter() - t0, "refresh_s": refreshed, "runs": report.runs,
            "packs": len(report.summary_packs)}


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

    def _control(self, path: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(f"{self.endpoint}/_bench/{path}", method=method)
        with urllib.request.urlopen(request, timeout=3600) as answer:
            found: dict[str, Any] = json.loads(answer.read())
        return found

    def load(self, folder: Path, prefix: str) -> dict[str, Any]:
        """Every file of `folder` put at ``prefix/<relative path>`` in the bucket (not over HTTP)."""
        from urllib.parse import urlencode

        return self._control("load?" + urlencode({"bucket": self.bucket, "prefix": prefix, "folder": str(folder)}),
                             "POST")

    def stats(self) -> dict[str, Any]:
        """The requests served since the last call, by kind, and moto's own seconds on them."""
        return self._control("stats")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def _served(stats: dict[str, Any]) -> str:
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(stats["requests"].items()))
    return f"{sum(stats['requests'].values())} requests ({kinds}), moto's own work {stats['moto_s']:.2f} s"


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# ---------------------------------------------------------------- rows


def bucket_rows(quick: bool, notes: list[str]) -> list[Row]:
    sizes = QUICK_SIZES if quick else SIZES
    rows: list[Row] = []
    with scratch_dir("nbtrack-bench-scale-") as work:
        server = SlowS3(work)
        try:
            url, written = server.url("team"), 0
            for n in sizes:
                server.slow(False)  # setup: the colleagues' runs appear in the bucket
                loaded = [server.load(folder, "team") for folder in fill_folders(written, n - written)]
                written = n
                server.slow(True)
                packed = run_isolated(f"{CHILD}:pack_bucket", url=url, index_dir=str(work / f"packer-{n}"),
                                      timeout=3600)
                packing = server.stats()
                machine = str(work / f"fresh-{n}")
                load_ready = _load()
                ready = run_isolated(f"benchmarks.{NAME}:runs_frame", store=url, index_dir=machine, n=n, cold=True)
                ready_served = server.stats()
                load_warm = _load()
                warm = run_isolated(f"benchmarks.{NAME}:runs_frame", store=url, index_dir=machine, n=n)
                warm_served = server.stats()
                _log(n, loaded, packed, packing, ready, ready_served, warm, warm_served)
                size = f"{n:,}"
                rows.append(Row(
                    NAME, f"fresh machine ready, {size} runs on the bucket (20 ms/request)", "s", ready["seconds"],
                    target=f"< {TARGET_S:.0f} s at {TARGET_RUNS:,}",
                    met=lt(ready["seconds"], TARGET_S) if n >= TARGET_RUNS else None,
                    note=f"{_served(ready_served)}; CPU {ready['cpu_s']:.2f} s; {load_ready}; packed by another "
                         f"machine over HTTP at 20 ms/request ({packed['runs']:,} runs in {packed['seconds']:.0f} s)"))
                warm_row = Row(NAME, f"runs() {size} runs on the bucket, warm index, new process", "s",
                               warm["seconds"], note=f"{_served(warm_served)}; CPU {warm['cpu_s']:.2f} s; {load_warm}")
                if n == SIZES[0] or n == sizes[0]:
                    warm_row.mlflow = _mlflow(n, notes)
                rows.append(warm_row)
        finally:
            server.slow(False)
            server.stop()
    return rows


def _log(n: int, *parts: Any) -> None:
    log = WORK_DIR / NAME / "bucket.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    names = ("loaded", "packed", "packing_served", "ready", "ready_served", "warm", "warm_served")
    with log.open("a") as out:
        out.write(json.dumps({"n": n, "at": time.time(), **dict(zip(names, parts, strict=True))}) + "\n")


def _mlflow(n: int, notes: list[str]) -> float | None:
    from benchmarks import query

    db = WORK_DIR / "query" / f"mlflow-{n}"
    try:
        query._cached(db, lambda: query._build_mlflow_or_fail(db / "mlflow.db", n, notes))
    except query._PeerMissing:
        return None
    found = peer("benchmarks.query:mlflow_search", notes, db=str(db / "mlflow.db"), n=n)
    return None if found is None else float(found["first_s"])
