"""The index's SQLite file (``nbtrack.store.index``): opened, repaired, moved aside.

Being derived, the index repairs itself: a file that is not an SQLite database, is damaged, or
holds tables of another shape (found when it is opened, or by any later query: methods wrapped in
`repairing`) is moved aside (renamed ``<name>.damaged-<time>``), a warning says so once, and a
fresh index is rebuilt from the logs. An index nbtrack cannot use at all (a read-only or locked
folder) raises `IndexUnavailable` with what to do about it; a sound index is never moved aside for
that. Each file gets a random ``uuid`` (in ``meta``) when it is created, so anything derived from
it (``nbtrack.api.frame``'s cached table) can tell a recreated file from the one it was built on.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from nbtrack.store import query
from nbtrack.store.backend import Backend
from nbtrack.store.index_schema import ForeignLayout, IndexUnavailable, damaged, layout_problem

BUSY_SECONDS = 60.0  # how long to wait for another process's write to the index
T = TypeVar("T")


class IndexedStore(Protocol):
    """What the index reads of the store it is handed (``nbtrack.store.store.Store``)."""

    url: str
    backend: Backend

    def read_run(self, run_id: str, offset: int = 0, annotations: bool = True) -> Any: ...
    def annotation_counts(self) -> dict[str, int]: ...


def repairing(method: Callable[..., T]) -> Callable[..., T]:
    """Run `method`; if the index turns out damaged, repair it and run `method` once more."""

    @functools.wraps(method)
    def wrapper(self: IndexFile, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            self._repair(exc)
        return method(self, *args, **kwargs)

    return wrapper


class IndexFile:
    """The index's SQLite file: opened (moved aside and recreated when it is no sound index),
    repaired when a later query finds it damaged, closed."""

    def __init__(self, path: Path, store: IndexedStore) -> None:
        self.path = path
        self.store = store
        self._lock = threading.RLock()  # one connection, shared by the kernel's threads
        self._problems: set[str] = set()  # reported once
        self._db, self._file = self._open()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA cache_size=-65536")  # 64 MB: a rebuild inserts into several B-trees
            problem = layout_problem(db)
        except BaseException:
            db.close()
            raise
        if problem is not None:
            db.close()
            raise ForeignLayout(problem)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('store', ?)", (self.store.url,))
        db.execute("INSERT OR IGNORE INTO meta VALUES ('uuid', ?)", (secrets.token_hex(16),))
        query.register_functions(db)
        return db

    def _open(self) -> tuple[sqlite3.Connection, tuple[int, int] | None]:
        """A connection to a sound index (the file moved aside first if it is not one), and the
        identity of the file it opened."""
        try:
            db = self._connect()
        except sqlite3.Error as exc:
            if not damaged(exc):
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
        if not damaged(exc):
            raise IndexUnavailable.at(self.path, exc) from exc
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            if self._identity() == self._file:  # still the file this process opened: move it aside
                self._move_aside(exc)  # (else another process did, and rebuilt it: just reopen)
            self._db, self._file = self._open()

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
