"""The index's SQLite layout, and how a file that is no sound index is recognised.

``SCHEMA`` is the layout (``runs`` rows of bookkeeping and summary columns, ``params``,
``metrics`` and ``tags`` rows for SQL filters and sorts, the packs read). ``layout_problem`` makes
a database this layout (an older nbtrack layout is simply dropped: the index is derived data) or
says what else it holds; ``damaged`` tells a damaged or foreign file from an ordinary SQL error,
so the index can move such a file aside and rebuild (``nbtrack.store.index``).
"""

from __future__ import annotations

import sqlite3

from nbtrack.store import columns

BOOK_COLUMNS = ("id", "cursor", "seen", "notes", "damaged", "state", "final", "pack")
RUN_COLUMNS = [*BOOK_COLUMNS, *columns.SUMMARY_COLUMNS]
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,      -- offset just past the last intact frame read
    seen INTEGER NOT NULL,        -- log size when last read
    notes INTEGER NOT NULL,       -- annotations applied
    damaged INTEGER NOT NULL,     -- damaged stretches seen (not counting a live torn tail)
    state TEXT,                   -- RunState as JSON while the run runs (NULL once final)
    final INTEGER NOT NULL,       -- the writer recorded an end: its log will not grow
    pack TEXT,                    -- the summary pack the row was read from (NULL: from the log)
    {columns.SUMMARY_SCHEMA}
);
CREATE INDEX IF NOT EXISTS runs_start ON runs(start);
CREATE INDEX IF NOT EXISTS runs_final ON runs(final);  -- also the smallest index: count(*) scans it
CREATE INDEX IF NOT EXISTS runs_running ON runs(boot_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS runs_annotated ON runs(notes) WHERE notes > 0;
CREATE TABLE IF NOT EXISTS params (
    key TEXT NOT NULL, run TEXT NOT NULL, kind INTEGER NOT NULL, num REAL, fnum REAL, text TEXT, lower TEXT,
    stext TEXT, PRIMARY KEY (key, run)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metrics (
    key TEXT NOT NULL, run TEXT NOT NULL, last_v REAL, min_v REAL, max_v REAL, PRIMARY KEY (key, run)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags (tag TEXT NOT NULL, run TEXT NOT NULL, PRIMARY KEY (tag, run)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_loose ON runs(final) WHERE final = 1 AND pack IS NULL;
CREATE TABLE IF NOT EXISTS packs (seq INTEGER PRIMARY KEY, kind TEXT, sha TEXT, ok INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
TABLES = ("runs", "params", "metrics", "tags", "packs", "meta")
FORMER_TABLES = ("metric_packs",)  # tables of older layouts: dropped with them, never taken for foreign
SCHEMA_VERSION = "7"  # raise it whenever SCHEMA or columns.SUMMARY_COLUMNS change
DAMAGE_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
DAMAGE_WORDS = ("malformed", "not a database", "no such table", "no such column", "has no column",
                 "columns but", "values were supplied")
class IndexUnavailable(OSError):
    """This machine's index cannot be opened or written (its folder is read-only, or locked)."""

    @classmethod
    def at(cls, where: object, exc: BaseException) -> IndexUnavailable:
        locked = "locked" in str(exc)
        advice = "another process holds it: try again when that is done" if locked else "make that folder writable"
        return cls(f"nbtrack cannot use its index {where} ({exc}); {advice}, or set $NBTRACK_INDEX_DIR to a "
                   "writable folder on a local disk")


class ForeignLayout(sqlite3.DatabaseError):
    """A sound SQLite file that holds something else than this index."""


def damaged(exc: sqlite3.Error) -> bool:
    """Whether `exc` says the file is no sound index: damaged, not a database at all, or tables
    of another shape (a schema mismatch shows as an SQL error on a table or column)."""
    if isinstance(exc, ForeignLayout):
        return True
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(DAMAGE_CODES) or any(word in str(exc).lower() for word in DAMAGE_WORDS)


def layout_problem(db: sqlite3.Connection) -> str | None:
    """Make `db` this index's layout: created when new, recreated when an older nbtrack layout;
    returns what is wrong instead when it holds anything else."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    foreign = {t for t in tables - set(TABLES) - set(FORMER_TABLES) if not t.startswith("sqlite_")}
    if foreign:
        return f"it holds tables nbtrack does not write: {', '.join(sorted(foreign))}"
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if str(version) != SCHEMA_VERSION:  # derived data: an old layout is simply rebuilt
        db.executescript("".join(f"DROP TABLE IF EXISTS {t};" for t in (*TABLES, *FORMER_TABLES)))
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.executescript(SCHEMA)
    columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    if columns != RUN_COLUMNS:
        return f"its runs table has other columns: {', '.join(columns)}"
    return None
