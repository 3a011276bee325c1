"""The derived index: a machine-local SQLite table of run states, refreshed from the logs.

It is never the source of truth: ``rebuild()`` recreates it from the store, and ``refresh()``
reads only what was appended since the last look (per run: the offset just past the last intact
frame, and the log size seen then). Refreshes from several processes on one machine are
serialised by SQLite's write lock; the database is never put inside a (possibly shared) store.

Being derived, it repairs itself: a file that is not an SQLite database, is damaged, or holds
tables of another shape (found when it is opened, or by any later query) is moved aside (renamed
``<name>.damaged-<time>``), a warning says so once, and a fresh index is rebuilt from the logs.
An index nbtrack cannot use at all (a read-only or locked folder) raises `IndexUnavailable`
with what to do about it; a sound index is never moved aside for that.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from nbtrack.core.records import RUNNING
from nbtrack.core.state import RunState, reduce
from nbtrack.store.backend import Backend
from nbtrack.store.keys import kind_of, log_key, run_of


class IndexedStore(Protocol):
    """What the index reads of the store it is handed (``nbtrack.store.store.Store``)."""

    url: str
    backend: Backend

    def read_run(self, run_id: str, offset: int = 0, annotations: bool = True) -> Any: ...
    def annotation_counts(self) -> dict[str, int]: ...

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,      -- offset just past the last intact frame read
    seen INTEGER NOT NULL,        -- log size when last read
    notes INTEGER NOT NULL,       -- annotations applied
    damaged INTEGER NOT NULL,     -- damaged stretches seen (not counting a live torn tail)
    state TEXT NOT NULL,          -- RunState as JSON
    summary TEXT NOT NULL,        -- RunState.summary_fields() as JSON: what tables read
    final INTEGER NOT NULL        -- the writer recorded an end: its log will not grow
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
SCHEMA_VERSION = "3"
RUN_COLUMNS = ["id", "cursor", "seen", "notes", "damaged", "state", "summary", "final"]
PREFETCH_BATCH = 256  # runs whose new bytes a remote backend fetches at once
_DAMAGE_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_DAMAGE_WORDS = ("malformed", "not a database", "no such table", "no such column", "has no column",
                 "columns but", "values were supplied")
BUSY_SECONDS = 60.0  # how long to wait for another process's write to the index
T = TypeVar("T")


class IndexUnavailable(OSError):
    """This machine's index cannot be opened or written (its folder is read-only, or locked)."""

    @classmethod
    def at(cls, where: object, exc: BaseException) -> IndexUnavailable:
        locked = "locked" in str(exc)
        advice = "another process holds it: try again when that is done" if locked else "make that folder writable"
        return cls(f"nbtrack cannot use its index {where} ({exc}); {advice}, or set $NBTRACK_INDEX_DIR to a "
                   "writable folder on a local disk")


class _ForeignLayout(sqlite3.DatabaseError):
    """A sound SQLite file that holds something else than this index."""


def _damaged(exc: sqlite3.Error) -> bool:
    """Whether `exc` says the file is no sound index: damaged, not a database at all, or tables
    of another shape (a schema mismatch shows as an SQL error on a table or column)."""
    if isinstance(exc, _ForeignLayout):
        return True
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(_DAMAGE_CODES) or any(word in str(exc).lower() for word in _DAMAGE_WORDS)


def _layout_problem(db: sqlite3.Connection) -> str | None:
    """Make `db` this index's layout: created when new, recreated when an older nbtrack layout;
    returns what is wrong instead when it holds anything else."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    foreign = tables - {"runs", "meta"}
    if foreign:
        return f"it holds tables nbtrack does not write: {', '.join(sorted(foreign))}"
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if str(version) != SCHEMA_VERSION:  # derived data: an old layout is simply rebuilt
        db.executescript("DROP TABLE IF EXISTS runs; DROP TABLE IF EXISTS meta;")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.executescript(SCHEMA)
    columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    if columns != RUN_COLUMNS:
        return f"its runs table has other columns: {', '.join(columns)}"
    return None


def _repairing(method: Callable[..., T]) -> Callable[..., T]:
    """Run `method`; if the index turns out damaged, repair it and run `method` once more."""

    @functools.wraps(method)
    def wrapper(self: Index, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            self._repair(exc)
        return method(self, *args, **kwargs)

    return wrapper


class Index:
    def __init__(self, path: Path, store: IndexedStore) -> None:
        self.path = path
        self.store = store
        self._lock = threading.RLock()  # one connection, shared by the kernel's threads
        self._parsed: dict[str, tuple[int, int, dict[str, Any]]] = {}  # id -> (seen, notes, summary)
        self._db, self._file = self._open()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            problem = _layout_problem(db)
        except BaseException:
            db.close()
            raise
        if problem is not None:
            db.close()
            raise _ForeignLayout(problem)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('store', ?)", (self.store.url,))
        return db

    def _open(self) -> tuple[sqlite3.Connection, tuple[int, int] | None]:
        """A connection to a sound index (the file moved aside first if it is not one), and the
        identity of the file it opened."""
        try:
            db = self._connect()
        except sqlite3.Error as exc:
            if not _damaged(exc):
                raise IndexUnavailable.at(self.path, exc) from exc
            self._move_aside(exc)
            try:
                db = self._connect()
            except sqlite3.Error as again:
                raise IndexUnavailable.at(self.path, again) from again
        return db, self._identity()

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _repair(self, exc: sqlite3.Error) -> None:
        if not _damaged(exc):
            raise IndexUnavailable.at(self.path, exc) from exc
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            if self._identity() == self._file:  # still the file this process opened: move it aside
                self._move_aside(exc)  # (else another process did, and rebuilt it: just reopen)
            self._db, self._file = self._open()
            self._parsed.clear()

    def _move_aside(self, exc: BaseException) -> None:
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        try:
            for suffix in ("", "-wal", "-shm"):  # a journal left beside a new file would be replayed into it
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
        except OSError as failed:
            raise IndexUnavailable.at(self.path, failed) from exc
        warnings.warn(f"nbtrack: the index {self.path} was unusable ({exc}); moved it aside to {aside.name} "
                      "and rebuilt it from the store's logs", RuntimeWarning, stacklevel=4)

    def close(self) -> None:
        self._db.close()

    @_repairing
    def refresh(self) -> int:
        """Bring the index up to date with the store; returns how many runs changed."""
        with self._lock:
            final = {log_key(r) for (r,) in self._db.execute("SELECT id FROM runs WHERE final = 1")}
        listed = self.store.backend.log_sizes_except("runs", final)
        sizes = {run_of(key): size for key, size in listed.items() if kind_of(key) == "log"}  # never a stray file
        notes = self.store.annotation_counts()
        with self._lock:
            return self._apply(sizes, notes)

    def _apply(self, sizes: dict[str, int | None], notes: dict[str, int]) -> int:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            known = {row[0]: row[1:] for row in db.execute("SELECT id, cursor, seen, notes, damaged FROM runs")}
            stale = []
            for run_id, size in sizes.items():
                row = known.get(run_id)
                n_notes = notes.get(run_id, 0)
                if row is not None and size in (None, row[1]) and row[2] == n_notes:
                    continue  # unchanged (None: a finished log, not even looked at)
                stale.append((run_id, row, n_notes))
            changed: list[tuple[str, int, int, int, int, str, str, int]] = []
            for start in range(0, len(stale), PREFETCH_BATCH):
                batch = stale[start : start + PREFETCH_BATCH]
                self.store.backend.prefetch_logs(
                    {log_key(r): (0 if row is None or row[2] != n else row[0]) for r, row, n in batch})
                changed.extend(self._read(run_id, row, n_notes) for run_id, row, n_notes in batch)
            db.executemany("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", changed)
            gone = [(run_id,) for run_id in known if run_id not in sizes]
            db.executemany("DELETE FROM runs WHERE id = ?", gone)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # a damaged file may refuse even that
                db.execute("ROLLBACK")
            raise
        return len(changed) + len(gone)

    def _read(
        self, run_id: str, row: tuple[int, int, int, int] | None, n_notes: int
    ) -> tuple[str, int, int, int, int, str, str, int]:
        if row is None or row[2] != n_notes:  # new run, or annotations changed: read it whole
            log = self.store.read_run(run_id, annotations=n_notes > 0)
            state, damaged = reduce(log.records), 0
        else:
            cursor, _seen, _notes, damaged = row
            (text,) = self._db.execute("SELECT state FROM runs WHERE id = ?", (run_id,)).fetchone()
            log = self.store.read_run(run_id, offset=cursor)
            state = reduce(log.records, RunState.from_json(json.loads(text)))
        damaged += len(log.corrupt)  # a torn tail is a write in progress or cut short: not damage
        state.id = state.id or run_id
        return (run_id, log.end, log.size, n_notes, damaged, json.dumps(state.to_json()),
                json.dumps(state.summary_fields()), int(state.status != RUNNING))

    @_repairing
    def rebuild(self) -> int:
        with self._lock:
            self._db.execute("DELETE FROM runs")
        return self.refresh()

    @_repairing
    def states(self) -> list[RunState]:
        self.refresh()
        with self._lock:
            rows = self._db.execute("SELECT state FROM runs ORDER BY id").fetchall()
        return [RunState.from_json(json.loads(text)) for (text,) in rows]

    @_repairing
    def summaries(self) -> list[dict[str, Any]]:
        """Every run's summary fields (see ``RunState.summary_fields``), oldest first: fresh
        top-level dicts, parsed again only for runs that changed since this process last asked."""
        self.refresh()
        with self._lock:
            versions = self._db.execute("SELECT id, seen, notes FROM runs ORDER BY id").fetchall()
            parsed = self._parsed
            stale = [
                run_id for run_id, seen, notes in versions if parsed.get(run_id, (None, None))[:2] != (seen, notes)
            ]
            for start in range(0, len(stale), 500):
                chunk = stale[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for run_id, seen, notes, text in self._db.execute(
                    f"SELECT id, seen, notes, summary FROM runs WHERE id IN ({marks})", chunk
                ):
                    parsed[run_id] = (seen, notes, json.loads(text))
            if len(parsed) > len(versions):
                keep = {run_id for run_id, _seen, _notes in versions}
                self._parsed = parsed = {k: v for k, v in parsed.items() if k in keep}
            return [dict(parsed[run_id][2]) for run_id, _seen, _notes in versions]

    @_repairing
    def state(self, run_id: str) -> RunState:
        self.refresh()
        with self._lock:
            row = self._db.execute("SELECT state FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        return RunState.from_json(json.loads(row[0]))
