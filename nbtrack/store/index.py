"""The derived index: a machine-local SQLite table of run states, refreshed from the logs.

It is never the source of truth: ``rebuild()`` recreates it from the store, and ``refresh()``
reads only what was appended since the last look (per run: the offset just past the last intact
frame, and the log size seen then). Refreshes from several processes on one machine are
serialised by SQLite's write lock; the database is never put inside a (possibly shared) store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

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
PREFETCH_BATCH = 256  # runs whose new bytes a remote backend fetches at once


class Index:
    def __init__(self, path: Path, store: IndexedStore) -> None:
        self.path = path
        self.store = store
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if str(version) != SCHEMA_VERSION:  # derived data: an old layout is simply rebuilt
            self._db.executescript("DROP TABLE IF EXISTS runs; DROP TABLE IF EXISTS meta;")
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._db.executescript(SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('store', ?)", (store.url,))
        self._lock = threading.RLock()  # one connection, shared by the kernel's threads
        self._parsed: dict[str, tuple[int, int, dict[str, Any]]] = {}  # id -> (seen, notes, summary)

    def close(self) -> None:
        self._db.close()

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
        damaged += sum(1 for d in log.damage if not (log.torn_tail and d.end == log.size))
        state.id = state.id or run_id
        return (run_id, log.end, log.size, n_notes, damaged, json.dumps(state.to_json()),
                json.dumps(state.summary_fields()), int(state.status != RUNNING))

    def rebuild(self) -> int:
        with self._lock:
            self._db.execute("DELETE FROM runs")
        return self.refresh()

    def states(self) -> list[RunState]:
        self.refresh()
        with self._lock:
            rows = self._db.execute("SELECT state FROM runs ORDER BY id").fetchall()
        return [RunState.from_json(json.loads(text)) for (text,) in rows]

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

    def state(self, run_id: str) -> RunState:
        self.refresh()
        with self._lock:
            row = self._db.execute("SELECT state FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        return RunState.from_json(json.loads(row[0]))
