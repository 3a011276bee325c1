"""A live run: the one writer of its log.

The caller's thread only appends to in-memory queues (``log`` costs a type check, a clock read
and a deque append); a background writer turns them into records, writes them to the store at
least every `flush_interval` seconds, and sends heartbeats. Nothing the writer meets raises into
the caller or stops it:

* **User text is stored as given.** Names, params, notes, tags, artifact names, cell sources and
  outputs may hold any Python string, text UTF-8 cannot encode included (a lone surrogate such as
  ``"\\ud800"``): it is stored escaped and reads back identical. Only values that are not text
  at all are refused or converted where they are given (a metric must be a number, a param that is
  not JSON becomes its repr, with a warning).
* **A write that fails is retried whole** with everything logged since, until the store takes it
  (a full disk, a lost connection): the backend keeps the log at a frame boundary, so nothing is
  duplicated. The failure is reported once (a ``RuntimeWarning``, which a notebook shows under
  the running cell), and when writes go through again a ``write-failed`` warning record on the run
  says for how long they did not.
* **Anything else that fails in the writer** (a record that cannot be encoded, a capture step, an
  internal error) is reported once per kind, recorded on the run as a ``data-lost`` or
  ``writer-error`` warning record, and the writer goes on with everything else.
"""

from __future__ import annotations

import json
import math
import reprlib
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from nbtrack.core import framing, records
from nbtrack.core.checks import check_name, too_deep
from nbtrack.core.fingerprint import HashCache, fingerprint
from nbtrack.core.records import FAILED, FINISHED, KILLED, RUNNING, STATUSES, Record
from nbtrack.core.redact import Redactor
from nbtrack.core.series import CURVE_BUCKETS, Batch, MetricHistory, Row, encode_metrics, group_rows

BACKLOG_ROWS = 50_000  # logged rows that wake the writer before its interval is up
FINAL_RETRY_SECONDS = 10.0  # how long a finishing run keeps retrying writes the store refuses
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


MAX_DEPTH = 100  # nesting of a param value kept as JSON; deeper values are stored as their repr
MAX_REPR = 10_000
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxtuple = 20, 100, 100, 100
_REPR.maxstring = _REPR.maxother = MAX_REPR


def safe_repr(value: Any) -> str:
    """repr(`value`), shortened when huge or too deeply nested to print."""
    try:
        text = repr(value)
    except RecursionError:
        text = _REPR.repr(value)
    return text if len(text) <= MAX_REPR else text[:MAX_REPR] + "..."


def json_safe(params: dict[str, Any], what: str = "param") -> dict[str, Any]:
    """Params as JSON values; anything else (or nested deeper than `MAX_DEPTH`) becomes its
    repr, with a warning. Names are checked (`check_name`)."""
    safe = {}
    for key, value in params.items():
        check_name(what, key)
        try:
            if too_deep(value, MAX_DEPTH):
                raise RecursionError
            json.dumps(value, allow_nan=True)
            safe[key] = value
        except (TypeError, ValueError, RecursionError):
            warnings.warn(f"nbtrack: {what} {key!r} is not JSON-serializable (or nested too deep); "
                          "stored as its repr", stacklevel=3)
            safe[key] = safe_repr(value)
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
        redactor: Redactor | None = None,
    ) -> None:
        self.id = run_id
        # the run's redaction registry: every secret found anywhere in the run is masked after
        self.redactor = redactor or Redactor.from_environ()
        header = {k: self.redactor.text(v) if k in ("name", "note") and isinstance(v, str) else v
                  for k, v in header.items()}
        self.header = records.run_header(run_id, heartbeat, header)  # the run's first record
        self.name: str = header.get("name") or ""
        self.store = store  # what the run writes to (a ``nbtrack.store.Store``)
        self.flush_interval = flush_interval
        self.heartbeat = heartbeat
        self.status = RUNNING
        self.history = MetricHistory()
        self._hash_cache = hash_cache
        self._metric_names: set[str] = set()  # names already checked
        self._rows: deque[Row] = deque()
        self._unwritten_batches: list[Batch] = []  # collected into the history, not yet encoded
        self._collect_lock = threading.Lock()
        self._queue: deque[Record | Deferred] = deque()
        self._next_step = 0
        self._unwritten = b""
        self._last_write = 0.0
        self._outage: tuple[float, str] | None = None  # since when, and why, writes fail
        self._problems: set[str] = set()
        self.problems: list[str] = []  # what the writer reported, in order (for status lines)
        self._listeners: list[Callable[[ActiveRun], None]] = []
        self.before_finish: list[Callable[[ActiveRun], None]] = []  # called once, by `finish`
        self._cond = threading.Condition()
        self._wanted = self._done = 0
        self._stop = False
        self._stopped_at = 0.0
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
        if not self._metric_names.issuperset(scalars):
            for key in scalars:
                check_name("metric", key)
            self._metric_names.update(scalars)
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
        """Record params; values under secret names are masked (and masked wherever they show
        up later in the run), other values redacted like any text."""
        self.write(records.params(self.redactor.mapping(json_safe(params))))

    def note(self, text: str) -> None:
        self.write(records.note(self.redactor.text(str(text))))

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
        name = str(name)  # a Path or any object given as a name is stored as its text
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
        self.write(records.status(status, self.redactor.text(error) if error else None))
        self.status = status
        with self._cond:
            self._stop, self._stopped_at = True, time.time()
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
        data = framing.json_bytes(self.history.curves())
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
                self._cond.wait_for(  # a finishing run still waits between retries of a failed write
                    lambda: self._wanted > self._done or self._urgent or (self._stop and not self._unwritten),
                    self.flush_interval,
                )
                wanted, stopping, self._urgent = self._wanted, self._stop, False
            try:
                self._write(sync=wanted > self._done)
            except Exception as exc:  # an internal error: reported and recorded, the writer goes on
                self._lost("writer-error", f"nbtrack's writer failed on run {self.id}; "
                                           f"some records may be missing: {exc!r}")
            with self._cond:
                self._done = max(self._done, wanted)
                self._cond.notify_all()
                if stopping and not self._queue and not self._rows and self._finished_writing():
                    return

    def _finished_writing(self) -> bool:
        """At the end: everything is written, or the store refused it for too long after `finish`."""
        if not self._unwritten:
            return True
        if time.time() - self._stopped_at < FINAL_RETRY_SECONDS:
            return False
        why = self._outage[1] if self._outage else "the store refused them"
        self._report("gave-up", f"nbtrack gave up writing run {self.id}: the last {len(self._unwritten)} bytes "
                                f"of its log are lost ({why})")
        return True

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
                    self._lost("data-lost", f"nbtrack could not record something on run {self.id}: {exc!r}")
            else:
                batch.append(item)
        if not batch and not self._unwritten and now - self._last_write >= self.heartbeat:
            batch.append(records.heartbeat(now))
        data = self._unwritten + self._encode(batch)
        if data:
            try:
                self.store.append(self.id, data)
            except Exception as exc:
                self._unwritten = data  # kept whole: the backend left the log at a frame boundary
                if self._outage is None:
                    self._outage = (now, repr(exc))
                self._report("write", f"nbtrack cannot write run {self.id} ({exc!r}); everything logged is "
                                      "kept in memory and written as soon as the store takes it again")
                return
            self._unwritten = b""
            self._last_write = now
            if self._outage is not None:
                self._recovered(now)
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

    def _encode(self, batch: list[Record]) -> bytes:
        """The frames of `batch`; a record that cannot be encoded is replaced by a warning."""
        frames = []
        for record in batch:
            try:
                frames.append(framing.encode(record))
            except Exception as exc:  # not JSON at all (a value a capture step let through)
                message = f"a {record.get('t')!r} record of run {self.id} could not be stored: {exc!r}"
                if "data-lost" not in self._problems:
                    frames.append(framing.encode(records.warning("data-lost", message, [])))
                self._report("data-lost", message)
        return b"".join(frames)

    def _recovered(self, now: float) -> None:
        assert self._outage is not None
        since, error = self._outage
        self._outage = None
        self._problems.discard("write")  # another outage later is reported again
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
        self.write(records.warning(
            "write-failed", f"writes to the store failed from {stamp} for {now - since:.0f} s ({error}); "
                            "everything logged meanwhile was kept and written", []))

    def _lost(self, kind: str, message: str) -> None:
        """Report once per kind, and record it on the run (the writer writes it next)."""
        if kind not in self._problems:
            self.write(records.warning(kind, message, []))
        self._report(kind, message)

    def _report(self, kind: str, message: str) -> None:
        if kind not in self._problems:
            self._problems.add(kind)
            self.problems.append(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
