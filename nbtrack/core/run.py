"""A live run: the one writer of its log.

The caller's thread only appends to in-memory queues (``log`` costs a type check, a clock read
and a deque append); a background writer turns them into records, writes them to the store at
least every `flush_interval` seconds, and sends heartbeats. A failure of the writer is reported
once and the data stays queued for the next attempt; it never raises into the caller.
"""

from __future__ import annotations

import json
import math
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from nbtrack.core import framing, records
from nbtrack.core.fingerprint import HashCache, fingerprint
from nbtrack.core.records import FAILED, FINISHED, KILLED, RUNNING, STATUSES, Record
from nbtrack.core.series import CURVE_BUCKETS, Batch, MetricHistory, Row, encode_metrics, group_rows

BACKLOG_ROWS = 50_000  # logged rows that wake the writer before its interval is up
Deferred = Callable[[], list[Record]]


class RunSink(Protocol):
    """What a run writes to (a ``nbtrack.store.Store``)."""

    url: str

    def append(self, run_id: str, data: bytes) -> None: ...
    def sync(self, run_id: str) -> None: ...
    def end(self, run_id: str) -> None: ...
    def put_blob(self, data: bytes) -> str: ...


class RunFinished(RuntimeError):
    pass


def to_float(key: str, value: object) -> float:
    """A metric value as float, or a clear ValueError (bools count as 0/1)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise ValueError(f"metric {key!r} must be a number, got {type(value).__name__}: {value!r:.80}")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metric {key!r} must be a number, got {value!r:.80}") from exc


def json_safe(params: dict[str, Any], what: str = "param") -> dict[str, Any]:
    """Params as JSON values; anything else becomes its repr, with a warning."""
    safe = {}
    for key, value in params.items():
        try:
            json.dumps(value, allow_nan=True)
            safe[str(key)] = value
        except (TypeError, ValueError, RecursionError):
            warnings.warn(f"nbtrack: {what} {key!r} is not JSON-serializable; stored as its repr", stacklevel=3)
            safe[str(key)] = repr(value)
    return safe


class ActiveRun:
    def __init__(
        self,
        store: RunSink,
        run_id: str,
        header: Record,
        flush_interval: float = 1.0,
        heartbeat: float = 10.0,
        hash_cache: HashCache | None = None,
    ) -> None:
        self.id = run_id
        self.header = records.run_header(run_id, heartbeat, header)  # the run's first record
        self.name: str = header.get("name") or ""
        self.store = store  # what the run writes to (a ``nbtrack.store.Store``)
        self.flush_interval = flush_interval
        self.heartbeat = heartbeat
        self.status = RUNNING
        self.history = MetricHistory()
        self._hash_cache = hash_cache
        self._rows: deque[Row] = deque()
        self._unwritten_batches: list[Batch] = []  # collected into the history, not yet encoded
        self._collect_lock = threading.Lock()
        self._queue: deque[Record | Deferred] = deque()
        self._next_step = 0
        self._unwritten = b""
        self._last_write = 0.0
        self._problems: set[str] = set()
        self._listeners: list[Callable[[ActiveRun], None]] = []
        self.before_finish: list[Callable[[ActiveRun], None]] = []  # called once, by `finish`
        self._cond = threading.Condition()
        self._wanted = self._done = 0
        self._stop = False
        self._urgent = False
        store.append(run_id, framing.encode(self.header))
        store.sync(run_id)
        self._last_write = self.header["ts"]
        self._thread = threading.Thread(target=self._loop, name=f"nbtrack-writer-{run_id}", daemon=True)
        self._thread.start()

    # ---- the caller's side: cheap, never blocks on I/O
    def log(self, step: float | None = None, **scalars: object) -> None:
        """Record scalar metrics at `step` (the last step + 1 when omitted)."""
        if self.status != RUNNING:
            raise RunFinished(f"run {self.id} is {self.status}; start a new one to log more")
        if not scalars:
            return
        for value in scalars.values():  # the caller's fresh kwargs dict is kept when all floats
            if type(value) is not float:
                scalars = {key: to_float(key, value) for key, value in scalars.items()}
                break
        if step is None:
            step = self._next_step
            self._next_step = step + 1
        elif type(step) is int:
            self._next_step = step + 1
        else:
            step = to_float("step", step)
            if math.isfinite(step):
                self._next_step = int(step) + 1
        rows = self._rows
        rows.append((step, time.time(), scalars))  # type: ignore[arg-type]
        if len(rows) >= BACKLOG_ROWS:  # a very fast loop: write now rather than hold memory
            self._wake()

    def write(self, record: Record) -> None:
        """Queue one record (built by ``core.records``) for the background writer."""
        self._queue.append(record)

    def defer(self, work: Deferred) -> None:
        """Run `work()` in the writer thread; the records it returns are written in order."""
        self._queue.append(work)

    def log_params(self, **params: Any) -> None:
        self.write(records.params(json_safe(params)))

    def note(self, text: str) -> None:
        self.write(records.note(str(text)))

    def tag(self, *tags: str) -> None:
        self.write(records.tags(tags))

    def log_artifact(self, path_or_bytes: str | Path | bytes, name: str | None = None, kind: str | None = None) -> str:
        """Store a file or bytes as an artifact of this run; returns its sha256."""
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            data, name, kind = bytes(path_or_bytes), name or "artifact.bin", kind or "bytes"
        else:
            path = Path(path_or_bytes)
            if not path.is_file():
                raise FileNotFoundError(f"artifact {path} is not a file")
            data, name, kind = path.read_bytes(), name or path.name, kind or "file"
        sha = self.store.put_blob(data)
        self.write(records.artifact(name, sha, len(data), kind))
        return sha

    def track_data(self, path: str | Path) -> dict[str, Any]:
        """Fingerprint a data file or folder and record it; returns the fingerprint."""
        fp = fingerprint(path, self._hash_cache)
        listing = {rel: [size, sha] for rel, (size, sha) in fp.listing.items()}
        manifest = self.store.put_blob(json.dumps(listing, sort_keys=True).encode())
        self.write(records.data(fp.path, fp.sha256, fp.files, fp.bytes, manifest))
        return fp.as_record()

    def add_listener(self, callback: Callable[[ActiveRun], None]) -> None:
        """Call `callback(run)` (from the writer thread) after every write."""
        self._listeners.append(callback)

    def flush(self, timeout: float = 30.0) -> None:
        """Write everything logged so far and make it durable."""
        if threading.current_thread() is self._thread:
            return  # asked by a listener on the writer thread, which cannot wait for itself
        with self._cond:
            self._wanted += 1
            wanted = self._wanted
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._done >= wanted or not self._thread.is_alive(), timeout)

    def finish(self, status: str = FINISHED, error: str | None = None) -> None:
        if self.status != RUNNING:
            return
        if status not in STATUSES or status == RUNNING:
            raise ValueError(f"status must be one of {', '.join(s for s in STATUSES if s != RUNNING)}")
        hooks, self.before_finish = self.before_finish, []
        for hook in hooks:
            try:
                hook(self)
            except Exception as exc:  # a last snapshot failed: the run still finishes
                self._report("finish-hook", f"nbtrack: a step before finishing run {self.id} failed: {exc!r}")
        self.defer(self._curves)
        self.write(records.status(status, error))
        self.status = status
        with self._cond:
            self._stop = True
        self.flush()
        self._thread.join(timeout=30)
        if not self._thread.is_alive():
            try:
                self.store.end(self.id)
            except Exception as exc:
                self._report("end", f"nbtrack could not release run {self.id}'s log: {exc!r}")

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            self.finish(FINISHED)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish(KILLED, error="interrupted")
        else:
            self.finish(FAILED, error="".join(traceback.format_exception_only(exc_type, exc)).strip())

    # ---- the writer's side
    def _curves(self) -> list[Record]:
        """A finished run's metric envelopes as one blob, when some metric is longer than a chart
        draws (a short run's points are as small as its envelope, and read as fast)."""
        self.collect_metrics()  # rows logged since this write began (none can follow: finishing)
        if self.history.longest() <= CURVE_BUCKETS:
            return []
        data = json.dumps(self.history.curves(), separators=(",", ":")).encode()
        return [records.curves(self.store.put_blob(data))]

    @property
    def last_step(self) -> int | None:
        """The step of the latest ``log()`` (None before the first)."""
        return self._next_step - 1 if self._next_step else None

    def collect_metrics(self) -> int:
        """Move logged rows into the history (any thread may call this, e.g. a live chart);
        returns how many rows moved. The writer still writes every row."""
        rows: list[Row] = []
        pop = self._rows.popleft
        with self._collect_lock:
            try:
                for _ in range(len(self._rows)):
                    rows.append(pop())
            except IndexError:
                pass
            if rows:
                batches = group_rows(rows)
                self.history.add(batches)
                self._unwritten_batches.extend(batches)
        return len(rows)

    def _take_unwritten(self) -> list[Batch]:
        self.collect_metrics()
        with self._collect_lock:
            batches, self._unwritten_batches = self._unwritten_batches, []
        return batches

    def _wake(self) -> None:
        if not self._urgent:
            with self._cond:
                self._urgent = True
                self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._wanted > self._done or self._stop or self._urgent, self.flush_interval
                )
                wanted, stopping, self._urgent = self._wanted, self._stop, False
            self._write(sync=wanted > self._done)
            with self._cond:
                self._done = max(self._done, wanted)
                self._cond.notify_all()
                if stopping and not self._queue and not self._rows:
                    return

    def _write(self, sync: bool) -> None:
        now = time.time()
        batches = self._take_unwritten() if self._rows or self._unwritten_batches else []
        batch: list[Record] = list(encode_metrics(batches, now)) if batches else []
        while self._queue:
            item = self._queue.popleft()
            if callable(item):
                try:
                    batch.extend(item())
                except Exception as exc:  # a capture step failed: report, keep going
                    self._report("deferred", f"nbtrack could not record something: {exc!r}")
            else:
                batch.append(item)
        if not batch and now - self._last_write >= self.heartbeat:
            batch.append(records.heartbeat(now))
        data = self._unwritten + framing.encode_many(batch)
        if data:
            try:
                self.store.append(self.id, data)
                self._unwritten = b""
                self._last_write = now
            except Exception as exc:
                self._unwritten = data  # kept for the next attempt
                self._report("write", f"nbtrack could not write run {self.id} (will retry): {exc!r}")
                return
        if sync:
            try:
                self.store.sync(self.id)
            except Exception as exc:
                self._report("sync", f"nbtrack could not sync run {self.id}: {exc!r}")
        if batch:
            for callback in list(self._listeners):
                try:
                    callback(self)
                except Exception as exc:
                    self._listeners.remove(callback)
                    self._report("listener", f"nbtrack listener failed and was removed: {exc!r}")

    def _report(self, kind: str, message: str) -> None:
        if kind not in self._problems:
            self._problems.add(kind)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
