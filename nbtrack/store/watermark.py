"""How far the packs let a reader skip listing the logs: a pack list entry's watermark.

Listing every run's log is what a bucket charges by the page (1,000 keys a request): 100,000 runs
cost 100 requests in sequence before anything is read, and a reader lists on every refresh. Run
ids sort in time order (``core.ids``), and a bucket lists from any key on (S3's ``StartAfter``).
So a client writing a summary pack also records in its entry (``packs.Entry``):

* ``through``: a run id W such that every run whose id sorts at or before W and whose log was in
  the store when that client last listed it is now in this pack or an earlier one, or in `open`.
  W is the newest run the client knows, but never a run started less than `MARGIN_SECONDS` before
  that listing (a run whose first write reaches the bucket late, a machine whose clock runs
  behind, are still listed by everyone);
* ``open``: the runs at or before W that were still running (no end recorded) then.

A reader whose every summary pack was readable (`adopt`) then lists only the logs after W
(``Backend.log_sizes_after``), looks at the `open` runs and its own running runs one by one, and
reads the rest from the packs. What a watermark cannot promise (a run imported later with an old
id, a log deleted by hand) a full listing finds: a reader lists everything on its first refresh
past `FULL_LISTING_SECONDS` since its last full listing, and a reader that found a pack damaged
(its runs must come from their logs) never uses a watermark again.
"""

from __future__ import annotations

import json
import sqlite3
import time

from nbtrack.core.ids import new_run_id

MARGIN_SECONDS = 3600.0  # runs started this close before a listing are never below a watermark
FULL_LISTING_SECONDS = 3600.0  # a reader lists every log at least this often
OFF = "-"  # the watermark of a reader that must list everything (a pack was unreadable)


def coverage(db: sqlite3.Connection, listed_at: float | None) -> tuple[str, tuple[str, ...]]:
    """(through, open) for an entry written now by a client whose index listed the store at
    `listed_at` and holds every finished run it knows in a pack or in the pack being written
    (("", ()) when it has not listed in this process)."""
    if listed_at is None:
        return "", ()
    bound = new_run_id(listed_at - MARGIN_SECONDS)[:10] + "~"  # every id started before then sorts first
    (through,) = db.execute("SELECT max(id) FROM runs WHERE id <= ?", (bound,)).fetchone()
    if through is None:
        return "", ()
    running = db.execute("SELECT id FROM runs WHERE final = 0 AND id <= ? ORDER BY id", (through,)).fetchall()
    return str(through), tuple(r for (r,) in running)


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    found = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if found is None else str(found[0])


def _set(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def adopt(db: sqlite3.Connection, through: str, open_runs: tuple[str, ...], readable: bool) -> None:
    """Take in a summary entry's watermark (`readable`: its pack was read; if not, this reader
    lists everything from now on). Called inside the transaction recording the entry."""
    current = _meta(db, "listed-through")
    if not readable:
        _set(db, "listed-through", OFF)
    elif current != OFF and through and (current is None or through >= current):
        _set(db, "listed-through", through)
        _set(db, "open-runs", json.dumps(list(open_runs)))
        if _meta(db, "full-listing-due") is None:
            _set(db, "full-listing-due", str(time.time() + FULL_LISTING_SECONDS))


def listing_start(db: sqlite3.Connection) -> tuple[str, list[str]] | None:
    """(the watermark to list after, the entry's open runs) when this reader may list only the
    logs after it; None when it must list everything."""
    through = _meta(db, "listed-through")
    if not through or through == OFF or time.time() >= float(_meta(db, "full-listing-due") or 0):
        return None
    return through, json.loads(_meta(db, "open-runs") or "[]")


def listed_fully(db: sqlite3.Connection) -> None:
    """A full listing of the logs was applied: the next one is due in `FULL_LISTING_SECONDS`."""
    if (_meta(db, "listed-through") or OFF) != OFF:
        _set(db, "full-listing-due", str(time.time() + FULL_LISTING_SECONDS))


def forget(db: sqlite3.Connection) -> None:
    """The index is rebuilt: its packs (and their watermarks) will be read again."""
    db.execute("DELETE FROM meta WHERE key IN ('listed-through', 'open-runs', 'full-listing-due')")
