"""The index's tables as rows are written to them: runs with their params, metrics and tags rows,
and the packs read (``nbtrack.store.index`` keeps them up with the store and answers queries).

Besides the rows, two counters in ``meta`` grow: ``generation`` on any change (what views poll),
``final-generation`` whenever a finished run's row is written or any row removed (what a copy of
the finished runs' table, ``nbtrack.api.frame``, is valid for).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nbtrack.core.text import encodable
from nbtrack.store import columns, watermark
from nbtrack.store.index_file import IndexFile, repairing
from nbtrack.store.index_schema import RUN_COLUMNS
from nbtrack.store.packs import Entry, IndexRows

_INSERT_RUN = f"INSERT OR REPLACE INTO runs VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
_FINAL = RUN_COLUMNS.index("final")
FINAL_GENERATION = "final-generation"  # grows whenever a finished run's row is written or a row removed


@dataclass
class IndexRow:
    """One run as the index stores it: its bookkeeping and its summary fields."""

    id: str
    cursor: int
    seen: int
    notes: int
    damaged: int
    final: bool
    fields: dict[str, Any]
    state: str | None = None  # RunState JSON, kept while the run is not final
    pack: str | None = None


class IndexTables(IndexFile):
    _listed_at: float | None = None  # when this process's last refresh listed the store

    def _write(self, found: Iterable[IndexRow], replaced: Iterable[str] = ()) -> None:
        """Insert (or replace) rows, with their params, metrics and tags rows (in a transaction)."""
        self._delete(replaced, keep_runs=True)
        rows = IndexRows()
        for row in found:
            fields = row.fields
            rows.runs.append((row.id, row.cursor, row.seen, row.notes, row.damaged, row.state, int(row.final),
                              row.pack, *columns.summary_row(fields)))
            rows.params += columns.param_rows(row.id, fields["params"])
            rows.metrics += columns.metric_rows(row.id, fields["metrics"])
            rows.tags += columns.tag_rows(row.id, fields["tags"])
        self._insert(rows)

    def _bump(self, counter: str = "generation") -> None:
        self._db.execute("INSERT INTO meta VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET value = value + 1", (counter,))

    def _insert(self, rows: IndexRows) -> None:
        db = self._db
        if any(row[_FINAL] for row in rows.runs):
            self._bump(FINAL_GENERATION)
        for statement, values in ((_INSERT_RUN, rows.runs),
                                  ("INSERT INTO params VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows.params),
                                  ("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows.metrics),
                                  ("INSERT OR IGNORE INTO tags VALUES (?, ?)", rows.tags)):
            try:
                db.executemany(statement, values)
            except UnicodeEncodeError:  # text with a lone surrogate (Python allows it, SQLite does not);
                # the rows before it are in: replace them with the same values
                db.executemany(statement.replace("INSERT INTO", "INSERT OR REPLACE INTO"),
                               [tuple(encodable(v) if isinstance(v, str) else v for v in row) for row in values])

    def _delete(self, run_ids: Iterable[str], keep_runs: bool = False) -> None:
        """Remove runs' params, metrics and tags rows (and their runs rows unless `keep_runs`)."""
        params, metrics, tags = [], [], []
        for run_id in run_ids:
            found = self._db.execute("SELECT params, metrics, tags FROM runs WHERE id = ?", (run_id,)).fetchone()
            if found is None:
                continue
            params += [(key, run_id) for key in json.loads(found[0])]
            metrics += [(key, run_id) for key in json.loads(found[1])]
            tags += columns.tag_rows(run_id, json.loads(found[2]))
            if not keep_runs:
                self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
                self._bump(FINAL_GENERATION)
        self._db.executemany("DELETE FROM params WHERE key = ? AND run = ?", params)
        self._db.executemany("DELETE FROM metrics WHERE key = ? AND run = ?", metrics)
        self._db.executemany("DELETE FROM tags WHERE tag = ? AND run = ?", tags)

    # ---- packs (``nbtrack.store.packs``, ``nbtrack.store.compaction``)
    @repairing
    def pack_seqs(self) -> set[int]:
        """The pack list entries this index has read (or found unusable)."""
        with self._lock:
            return {seq for (seq,) in self._db.execute("SELECT seq FROM packs")}

    def add_pack(self, entry: Entry, rows: IndexRows | None) -> int:
        """Record pack list entry `entry` (`rows`: its summary pack's rows; None: the pack is
        unusable and its runs are read from their logs); returns how many runs it added."""
        added = 0
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT OR REPLACE INTO packs VALUES (?, ?, ?, ?)",
                           (entry.seq, entry.kind, entry.sha, int(rows is not None or entry.kind != "summaries")))
                if entry.kind != "metrics":  # (an unreadable entry may have been a summary entry)
                    watermark.adopt(db, entry.through, entry.open, rows is not None)
                if entry.kind == "summaries" and rows is not None:
                    ids = json.dumps([r[0] for r in rows.runs])
                    have = {r[0]: (r[1], r[2]) for r in db.execute(
                        "SELECT id, seen, notes FROM runs WHERE id IN (SELECT value FROM json_each(?))", (ids,))}
                    same = [(entry.sha, r[0]) for r in rows.runs if have.get(r[0]) == (r[2], r[3])]
                    db.executemany("UPDATE runs SET pack = ? WHERE id = ? AND pack IS NULL", same)
                    if have:  # insert only the runs this index does not have yet
                        rows = rows.only({r[0] for r in rows.runs if r[0] not in have})
                    self._insert(rows)
                    added = len(rows.runs)
                    self._bump()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return added

    @repairing
    def loose(self) -> IndexRows:
        """The finished runs in no summary pack, oldest first, with their params, metrics and tags."""
        with self._lock:
            runs = self._db.execute("SELECT * FROM runs WHERE final = 1 AND pack IS NULL ORDER BY id").fetchall()
            ids = json.dumps([r[0] for r in runs])
            child = "WHERE run IN (SELECT value FROM json_each(?)) ORDER BY run, key"
            return IndexRows(
                runs, self._db.execute(f"SELECT * FROM params {child}", (ids,)).fetchall(),
                self._db.execute(f"SELECT * FROM metrics {child}", (ids,)).fetchall(),
                self._db.execute("SELECT tag, run FROM tags WHERE run IN (SELECT value FROM json_each(?))"
                                 " ORDER BY run, tag", (ids,)).fetchall())

    @repairing
    def coverage(self) -> tuple[str, tuple[str, ...]]:
        """The watermark and open runs of a summary pack of every loose run, written now
        (``nbtrack.store.watermark.coverage``)."""
        with self._lock:
            return watermark.coverage(self._db, self._listed_at)

    @repairing
    def loose_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM runs WHERE final = 1 AND pack IS NULL").fetchone()[0])
