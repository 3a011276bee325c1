"""The derived index: a machine-local SQLite database of run summaries, refreshed from the logs.

It is never the source of truth: ``rebuild()`` recreates it from the store, and ``refresh()``
reads only what was appended since the last look (per run: the offset just past the last intact
frame, and the log size seen then). Refreshes from several processes on one machine are
serialised by SQLite's write lock; the database is never put inside a (possibly shared) store.

Each run is a ``runs`` row whose columns are its summary (``nbtrack.store.columns``), plus one
``params``, ``metrics`` and ``tags`` row per param, metric and tag, so that filters, sorts and
pages run in SQL (``nbtrack.store.query``) and only the rows asked for become Python objects.
A running run's row keeps its reduced state, to continue reading its log from where it stopped;
a finished run's state is read again from its log when someone asks for it (`state`).

Being derived, it repairs itself (``nbtrack.store.index_file``): a damaged file is moved aside and
the index rebuilt from the logs.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import warnings
from collections.abc import Collection
from typing import Any

from nbtrack.core.bulk import gc_paused
from nbtrack.core.filters import Filter
from nbtrack.core.identity import boot_id, pid_alive
from nbtrack.core.records import RUNNING
from nbtrack.core.state import RunState, reduce
from nbtrack.store import query, watermark
from nbtrack.store.backend import Backend
from nbtrack.store.compaction import concurrently
from nbtrack.store.index_file import IndexedStore, repairing
from nbtrack.store.index_schema import SCHEMA_VERSION, TABLES, IndexUnavailable
from nbtrack.store.index_tables import FINAL_GENERATION, IndexRow, IndexTables
from nbtrack.store.keys import kind_of, log_key, run_of
from nbtrack.store.packs import min_loose_runs

__all__ = ["SCHEMA_VERSION", "Index", "IndexRow", "IndexUnavailable", "IndexedStore"]


PREFETCH_BATCH = 256  # runs whose new bytes a remote backend fetches at once


class Index(IndexTables):
    # ---- keeping up with the store
    @repairing
    def refresh(self) -> int:
        """Bring the index up to date with the store; returns how many runs changed.

        One listing of the store's logs, then only what changed is read. When the backend can
        tell that no log was added or removed since the last listing (``log_listing_version``),
        the listing is skipped: only the runs that may still grow are looked at. Packs come
        first (``nbtrack.store.packs``): runs in a pack are not read from their logs. A refresh
        that finds many loose finished runs packs them for the next machine."""
        from nbtrack.store.compaction import compact, read_pack_list

        backend = self.store.backend
        version = backend.log_listing_version("runs")
        started = time.time()
        with gc_paused():  # rows by the hundred thousand on a fresh machine
            changed = read_pack_list(self, backend)
            changed += self._refresh(backend, version)
        self._listed_at = started
        threshold = min_loose_runs()
        if threshold and self.loose_count() >= threshold:
            try:
                compact(self, backend, min_runs=threshold)
            except Exception as exc:  # a read-only store, a full bucket: the index is still right
                if "pack" not in self._problems:
                    self._problems.add("pack")
                    warnings.warn(f"nbtrack could not write a pack of finished runs to {self.store.url}: {exc!r}",
                                  RuntimeWarning, stacklevel=2)
        return changed

    def _refresh(self, backend: Backend, version: str | None) -> int:
        with self._lock:
            start = watermark.listing_start(self._db) if version is None else None
        if start is not None:
            listed = backend.log_sizes_after("runs", start[0])
            if listed is not None:
                return self._refresh_after(backend, start[0], start[1], listed)
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'runs-listing'").fetchone()
            full = version is None or row is None or row[0] != version
            if full:
                final = {log_key(r) for (r,) in self._db.execute("SELECT id FROM runs WHERE final = 1")}
            else:
                live = [r for (r,) in self._db.execute("SELECT id FROM runs WHERE final = 0")]
                annotated = dict(self._db.execute("SELECT id, notes FROM runs WHERE notes > 0").fetchall())
        if full:
            sizes = {run_of(key): size for key, size in backend.log_sizes_except("runs", final).items()
                     if size is None or kind_of(key) == "log"}  # never a stray file (None: one of `final`)
        else:
            sizes = {run_id: backend.log_size(log_key(run_id)) for run_id in live}
        notes = self.store.annotation_counts()
        gone: list[str] = []
        if not full:  # runs annotated since (or no longer): read again; logs that vanished: gone
            sizes.update((run_id, None) for run_id in set(notes) | set(annotated) if run_id not in sizes)
            gone = [run_id for run_id in live if sizes[run_id] is None]
            for run_id in gone:
                del sizes[run_id]
        with self._lock:
            changed = self._apply(sizes, notes, gone, version if full else None, full)
            if full:
                watermark.listed_fully(self._db)
            return changed

    def _refresh_after(self, backend: Backend, through: str, open_runs: list[str], listed: dict[str, int]) -> int:
        """`_refresh` from a listing of the logs after the watermark `through` (``store.watermark``):
        runs at or before it are in packs, but for the entry's `open_runs` and this index's
        running runs, looked at one by one."""
        with self._lock:
            db = self._db
            live = [r for (r,) in db.execute("SELECT id FROM runs WHERE final = 0 AND id <= ?", (through,))]
            later = [r for (r,) in db.execute("SELECT id FROM runs WHERE id > ?", (through,))]
            known = {r for (r,) in db.execute("SELECT id FROM runs WHERE id IN (SELECT value FROM json_each(?))",
                                              (json.dumps(open_runs),))}
            annotated = [r for (r,) in db.execute("SELECT id FROM runs WHERE notes > 0")]
        sizes: dict[str, int | None] = {run_of(key): size for key, size in listed.items() if kind_of(key) == "log"}
        looked = [*live, *(r for r in open_runs if r not in known)]
        sizes.update(zip(looked, concurrently(lambda r: backend.log_size(log_key(r)), looked)))
        gone = [r for r in live if sizes[r] is None] + [r for r in later if r not in sizes]
        for run_id in [r for r in looked if sizes[r] is None]:
            del sizes[run_id]
        notes = self.store.annotation_counts()
        sizes.update((run_id, None) for run_id in set(notes) | set(annotated) if run_id not in sizes)
        with self._lock:
            return self._apply(sizes, notes, gone, None, False)

    def _apply(
        self, sizes: dict[str, int | None], notes: dict[str, int], gone: list[str], version: str | None, full: bool
    ) -> int:
        """Read the runs whose size or annotations changed; `full`: `sizes` lists every run, and
        runs missing from it are gone (else `gone` says which); `version` is the listing's."""
        db = self._db
        if not self._stale(sizes, notes) and not (gone or full):
            return 0  # nothing to write: no write transaction either
        db.execute("BEGIN IMMEDIATE")
        try:
            stale = self._stale(sizes, notes)
            if full:
                gone = [run_id for (run_id,) in db.execute("SELECT id FROM runs") if run_id not in sizes]
            changed = 0
            for start in range(0, len(stale), PREFETCH_BATCH):
                batch = stale[start : start + PREFETCH_BATCH]
                self.store.backend.prefetch_logs(
                    {log_key(r): (0 if row is None or row[2] != n else row[0]) for r, row, n in batch})
                self._write([self._read(run_id, row, n_notes) for run_id, row, n_notes in batch],
                            [r for r, row, _n in batch if row is not None])
                changed += len(batch)
            self._delete(gone)
            if changed or gone:
                self._bump()
            if version is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('runs-listing', ?)", (version,))
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # a damaged file may refuse even that
                db.execute("ROLLBACK")
            raise
        return changed + len(gone)

    def _stale(
        self, sizes: dict[str, int | None], notes: dict[str, int]
    ) -> list[tuple[str, tuple[int, int, int, int] | None, int]]:
        """The runs of `sizes` whose log grew or whose annotations changed: (id, row, notes)."""
        annotated = {r for (r,) in self._db.execute("SELECT id FROM runs WHERE notes > 0")}
        # a finished log not looked at (size None) changes only by its annotations
        ids = [r for r, size in sizes.items() if size is not None or r in notes or r in annotated]
        book = "SELECT id, cursor, seen, notes, damaged FROM runs"
        if len(ids) > 10_000:  # many: one scan is cheaper than looking each up
            known = {row[0]: row[1:] for row in self._db.execute(book)}
        else:
            known = {row[0]: row[1:] for row in self._db.execute(
                f"{book} WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}
        stale = []
        for run_id in sorted(ids):  # in id order: inserts append to the B-trees
            size, row = sizes[run_id], known.get(run_id)
            n_notes = notes.get(run_id, 0)
            if row is not None and size in (None, row[1]) and row[2] == n_notes:
                continue  # unchanged (None: a finished log, not even looked at)
            stale.append((run_id, row, n_notes))
        return stale

    def _read(self, run_id: str, row: tuple[int, int, int, int] | None, n_notes: int) -> IndexRow:
        state_text = None
        if row is not None and row[2] == n_notes:
            (state_text,) = self._db.execute("SELECT state FROM runs WHERE id = ?", (run_id,)).fetchone()
        if state_text is None:  # new, annotated since, or final before: read it whole
            log = self.store.read_run(run_id, annotations=n_notes > 0)
            state, damaged = reduce(log.records), 0
        else:
            assert row is not None
            cursor, _seen, _notes, damaged = row
            log = self.store.read_run(run_id, offset=cursor)
            state = reduce(log.records, RunState.from_json(json.loads(state_text)))
        damaged += len(log.corrupt)  # a torn tail is a write in progress or cut short: not damage
        state.id = state.id or run_id
        final = state.status != RUNNING
        return IndexRow(run_id, log.end, log.size, n_notes, damaged, final, state.summary_fields(),
                        None if final else json.dumps(state.to_json()))

    @repairing
    def rebuild(self) -> int:
        with self._lock:
            self._db.executescript("BEGIN;" + "".join(f"DELETE FROM {t};" for t in TABLES if t != "meta")
                                   + "DELETE FROM meta WHERE key = 'runs-listing';"
                                   + f"UPDATE meta SET value = value + 1 WHERE key = '{FINAL_GENERATION}';")
            watermark.forget(self._db)
            self._db.execute("COMMIT")
        return self.refresh()

    # ---- reading
    @repairing
    def curves(self, run_id: str) -> str | None:
        """The blob of run `run_id`'s metric envelopes (stored when it finished), if any."""
        self.refresh()
        with self._lock:
            found = self._db.execute("SELECT curves FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if found is None else found[0]

    @repairing
    def state(self, run_id: str) -> RunState:
        self.refresh()
        with self._lock:
            row = self._db.execute("SELECT state FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        if row[0] is not None:
            return RunState.from_json(json.loads(row[0]))
        state = self.store.read_run(run_id).state()  # a final run: its log says everything
        state.id = state.id or run_id
        return state

    @repairing
    def states(self) -> list[RunState]:
        """Every run's state, oldest first (a finished run's is read from its log: slow)."""
        self.refresh()
        with self._lock:
            ids = [run_id for (run_id,) in self._db.execute("SELECT id FROM runs ORDER BY id")]
        return [self.state(run_id) for run_id in ids]

    @repairing
    def summaries(self) -> list[dict[str, Any]]:
        """Every run's summary fields (see ``RunState.summary_fields``), oldest first."""
        return self.select()[0]

    @repairing
    def select(
        self,
        spec: Filter | None = None,
        sort: str | None = None,
        desc: bool = False,
        offset: int = 0,
        limit: int | None = None,
        notebooks: Collection[str] | None = None,
        now: float | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """(the summary fields of the runs matching `spec`, ordered by `sort` from `offset` on, at
        most `limit`; how many match in all). `notebooks` keeps only runs recorded from those."""
        self.refresh()
        with self._lock:
            return query.select(self._db, self._moment(now), spec, sort, desc, offset, limit, notebooks)

    @repairing
    def table(
        self, spec: Filter | None = None, now: float | None = None, final: bool | None = None, refresh: bool = True
    ) -> dict[str, list[Any]]:
        """The runs matching `spec` by column (``nbtrack.store.query.table``); `final`: only the
        finished runs (True) or only the others (False); `refresh=False`: as the index is now."""
        if refresh:
            self.refresh()
        with self._lock:
            return query.table(self._db, self._moment(now), spec, final)

    @repairing
    def table_version(self) -> tuple[str, int]:
        """(this index file's uuid, a number that grows whenever a finished run's row is written
        or any row removed): what a copy of the finished runs' `table` is valid for."""
        with self._lock:
            found = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('uuid', ?)",
                                          (FINAL_GENERATION,)).fetchall())
        return str(found.get("uuid", "")), int(found.get(FINAL_GENERATION) or 0)

    @repairing
    def column_use(
        self, spec: Filter | None = None, now: float | None = None
    ) -> tuple[int, dict[str, int], dict[str, int], set[str]]:
        """What the runs matching `spec` fill in (``nbtrack.store.query.column_use``)."""
        self.refresh()
        with self._lock:
            return query.column_use(self._db, self._moment(now), spec)

    @repairing
    def generation(self) -> int:
        """A number that grows whenever the index changes (any process's refresh)."""
        with self._lock:
            found = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return 0 if found is None else int(found[0])

    def _moment(self, now: float | None) -> dict[str, Any]:
        """What status and duration are computed from: the time, and this machine's running runs
        whose process is gone (liveness needs the OS to say)."""
        rows = self._db.execute(
            f"SELECT id, pid FROM runs WHERE status = '{RUNNING}' AND boot_id = ? AND pid != 0", (boot_id(),)
        ).fetchall()
        dead = [run_id for run_id, pid in rows if not pid_alive(pid)]
        return {"now": time.time() if now is None else now, "dead": json.dumps(dead)}

    @repairing
    def notebooks(self) -> list[str]:
        """The distinct notebooks runs were recorded from (as of now: the index is refreshed)."""
        self.refresh()
        with self._lock:
            return [n for (n,) in self._db.execute("SELECT DISTINCT notebook FROM runs WHERE notebook IS NOT NULL")]

    @repairing
    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM runs").fetchone()[0])
