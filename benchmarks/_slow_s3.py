"""moto's S3 server, each request held `delay` seconds first (a real bucket's round trip).

``python -m benchmarks._slow_s3 HOST PORT SWITCH``: the delay in seconds is read from the file
SWITCH (0 when missing), at most every half second, so a benchmark prepares the bucket at full
speed and then measures readers against a slow one.

Two benchmark-only paths are answered by this process itself, never by moto, and never delayed:

* ``POST /_bench/load?bucket=B&prefix=P&folder=F`` puts every file under the local folder F into
  bucket B at key ``P/<path relative to F>``, through moto's own backend (``put_object``, what a
  PUT request ends in) instead of one HTTP request each: filling moto over HTTP costs a listing
  per run (a new log asks the bucket where it ends) that scans every key, so 30,000 runs took
  45 minutes. The folder is what nbtrack's bucket backend writes on a local filesystem (the same
  keys and bytes as on a bucket: ``tests/benchmarks/test_bucket_fill.py`` compares them).
* ``GET /_bench/stats`` answers the requests moto served since the last stats call, by kind
  (LIST, GET, HEAD, PUT, ...), the CPU seconds moto spent on them (the threads' own time: the
  delay and waits for the GIL left out), and the most requests that were in the server at once:
  what a reader asked of the bucket, how much of its wait was moto's own work (a listing sorts
  every key of the bucket), not the network's, and how many requests it kept in flight.

moto looks its service up by listing its own package folder at every request (half a millisecond
each); the list is read once here, so that 100,000 requests do not pay it 100,000 times.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import moto.backends
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

_MODULES = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: _MODULES  # the same answer, read once

CONTROL = "/_bench/"


def put_folder(bucket: str, prefix: str, folder: Path) -> dict[str, Any]:
    """Put every file under `folder` into `bucket` at ``prefix/<relative path>`` (moto's backend)."""
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket]
    backend = s3_backends[account][partition]
    t0, objects, size = time.perf_counter(), 0, 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            data = path.read_bytes()
            key = f"{prefix}/{path.relative_to(folder).as_posix()}".lstrip("/")
            backend.put_object(bucket, key, data, disable_notification=True)
            objects, size = objects + 1, size + len(data)
    return {"objects": objects, "bytes": size, "seconds": time.perf_counter() - t0}


def _kind(environ: dict[str, Any]) -> str:
    method = environ["REQUEST_METHOD"]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if method == "GET" and ("list-type" in query or "prefix" in query or "delimiter" in query):
        return "LIST"
    return method


def _answer(start_response: Any, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def slowed(app: Any, switch: Path) -> Any:
    state = {"delay": 0.0, "read": 0.0}
    lock = threading.Lock()
    served: Counter[str] = Counter()
    work = [0.0]  # CPU seconds moto spent serving since the last stats call
    flight = {"now": 0, "most": 0}  # requests in the server (delay included), and the most at once

    def control(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"][len(CONTROL):]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if path == "load":
            return _answer(start_response, put_folder(query["bucket"], query.get("prefix", ""), Path(query["folder"])))
        with lock:
            stats = {"requests": dict(served), "moto_s": work[0], "most_in_flight": flight["most"]}
            served.clear()
            work[0], flight["most"] = 0.0, flight["now"]
        return _answer(start_response, stats)

    def handle(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith(CONTROL):
            return control(environ, start_response)
        with lock:
            flight["now"] += 1
            flight["most"] = max(flight["most"], flight["now"])
        try:
            now = time.monotonic()
            if now - state["read"] > 0.5:
                state["read"] = now
                try:
                    state["delay"] = float(switch.read_text() or 0)
                except (OSError, ValueError):
                    state["delay"] = 0.0
            if state["delay"]:
                time.sleep(state["delay"])
            t0 = time.thread_time()
            body = app(environ, start_response)
            spent = time.thread_time() - t0
        finally:
            with lock:
                flight["now"] -= 1
        with lock:
            served[_kind(environ)] += 1
            work[0] += spent
        return body

    return handle


if __name__ == "__main__":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request: 100,000s of them
    host, port, switch = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    run_simple(host, port, slowed(DomainDispatcherApplication(create_backend_app), switch), threaded=True)
