"""Packs: finished runs compacted into write-once, content-addressed Parquet files in the store.

A store with 100,000 runs holds 100,000 logs; a machine that joins it would read every one. So any
client that sees many loose finished runs (runs in no pack) writes their summaries into one
**summary pack** (``packs/summaries/<sha256>.parquet``). A pack is named by the hash of its bytes,
written once, verified when read, and never replaces a log: logs stay the source of truth, a pack
only saves reading them. (Earlier versions also wrote **metrics packs** of runs' metric columns,
``packs/metrics/``; nothing read them: charts draw the min/max envelope a run stores when it
finishes, and one run's points from a pack on a bucket would mean fetching the whole pack. Readers
skip their entries; ``nbtrack fsck`` and ``nbtrack gc`` still know them.)

The **pack list** is a sequence of small JSON entries, ``packs/list/<seq>``, each naming one pack.
A compaction writes its pack, then claims the next sequence number with a write-once object: on a
folder (``os.link``) and on buckets with conditional writes (``If-None-Match``), exactly one of
two clients compacting at once gets it; the other reads the winner's entry, finds its runs packed
and stops, so the store keeps one set of packs. Where a backend cannot create exclusively, the
last writer of an entry wins and the loser's pack is left unlisted (``nbtrack gc`` removes it):
its runs stay loose and are packed again later; no run is ever lost, and readers take any run
from the first pack that has it. Two clients that see the same runs write the same bytes, hence
the same pack.

A reader (``Index.refresh``) lists ``packs/list`` once, reads the entries and summary packs it has
not seen, and inserts their rows; the usual listing of the logs then only reads what is not in a
pack or changed since (a log that grew, annotations added later). A pack that does not hash to its
name, or does not parse, is reported once and skipped: its runs are read from their logs.

Summary packs hold the index's own rows (``nbtrack.store.columns``), so they load without parsing
a log; as plain Parquet they are also what DuckDB, pandas or Spark read to query a team's runs
(README, "Team stores").
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbtrack.store import columns
from nbtrack.store.backend import Backend
from nbtrack.store.keys import PACK_LIST, entry_seq, pack_entry_key, pack_key

if TYPE_CHECKING:
    import pyarrow as pa

PACK_FORMAT = 1
ENV_MIN_RUNS = "NBTRACK_PACK_MIN_RUNS"
MIN_LOOSE_RUNS = 1000  # loose finished runs that make a client write a summary pack
BOOK_COLUMNS = ("id", "cursor", "seen", "notes", "damaged")  # a run's bookkeeping, as the index's
PACK_COLUMNS = (*BOOK_COLUMNS, *columns.SUMMARY_COLUMNS)
_SQL_TYPES = {"TEXT": "string", "REAL": "float64", "INTEGER": "int64"}


class PackDamaged(IOError):
    """A pack's bytes do not hash to its name, or are not a pack."""


@dataclass(frozen=True)
class Entry:
    """One entry of the pack list."""

    seq: int
    kind: str  # "summaries" (or "metrics", from earlier versions)
    sha: str
    runs: tuple[str, ...] = ()  # metrics packs: the runs whose columns they hold
    through: str = ""  # summary packs: the watermark (``nbtrack.store.watermark``), "" for none
    open: tuple[str, ...] = ()  # and the runs at or before it still running then

    def to_json(self) -> bytes:
        return json.dumps({"format": PACK_FORMAT, "kind": self.kind, "sha256": self.sha, "runs": list(self.runs),
                           "listed_through": self.through, "open": list(self.open), "written": time.time()},
                          sort_keys=True).encode()


@dataclass
class IndexRows:
    """Rows for the index's tables: ``runs`` (the index's ``RUN_COLUMNS``: `BOOK_COLUMNS`, then
    state, final and pack, then the summary columns), ``params``, ``metrics``, ``tags``."""

    runs: list[tuple[Any, ...]] = field(default_factory=list)
    params: list[tuple[Any, ...]] = field(default_factory=list)
    metrics: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)

    def only(self, ids: set[str]) -> IndexRows:
        """The rows of the runs `ids`."""
        return IndexRows([r for r in self.runs if r[0] in ids], [p for p in self.params if p[1] in ids],
                         [m for m in self.metrics if m[1] in ids], [t for t in self.tags if t[1] in ids])


def min_loose_runs() -> int:
    """How many loose finished runs make a client write a summary pack (0: never)."""
    try:
        return int(os.environ.get(ENV_MIN_RUNS, MIN_LOOSE_RUNS))
    except ValueError:
        return MIN_LOOSE_RUNS


# ---- the pack list
def entry_seqs(backend: Backend) -> list[int]:
    """The sequence numbers of the pack list's entries (one listing)."""
    return sorted(s for s in (entry_seq(info.key) for info in backend.list(PACK_LIST)) if s is not None)


def read_entry(backend: Backend, seq: int) -> Entry | None:
    """Entry `seq`, or None (with a warning) when it is not one."""
    try:
        data = json.loads(backend.read(pack_entry_key(seq)))
        return Entry(seq, str(data["kind"]), str(data["sha256"]), tuple(str(r) for r in data.get("runs") or ()),
                     str(data.get("listed_through") or ""), tuple(str(r) for r in data.get("open") or ()))
    except (ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"nbtrack: the pack list entry {pack_entry_key(seq)} is not one ({exc}); ignored",
                      RuntimeWarning, stacklevel=2)
        return None


def read_pack(backend: Backend, kind: str, sha: str) -> bytes:
    """A pack's bytes, verified against its name."""
    data = backend.read(pack_key(kind, sha))
    if hashlib.sha256(data).hexdigest() != sha:
        raise PackDamaged(f"pack {pack_key(kind, sha)} is damaged: its content does not match its hash")
    return data


def publish(backend: Backend, kind: str, data: bytes, runs: Sequence[str], next_seq: int,
            coverage: tuple[str, tuple[str, ...]] = ("", ())) -> Entry | None:
    """Write a pack and claim entry `next_seq` for it (with `coverage`: its watermark and open
    runs): the entry, or None when another client took that number first."""
    sha = hashlib.sha256(data).hexdigest()
    key = pack_key(kind, sha)
    if not backend.write_once(key, data):  # the same bytes from another client, or a damaged copy
        try:
            read_pack(backend, kind, sha)
        except PackDamaged:  # (this is what it should hold: put it back)
            backend.delete(key)
            backend.write_once(key, data)
    entry = Entry(next_seq, kind, sha, tuple(runs) if kind == "metrics" else (), *coverage)
    return entry if backend.write_once(pack_entry_key(next_seq), entry.to_json()) else None


# ---- summary packs
def _arrow_type(sql_type: str) -> pa.DataType:
    import pyarrow as pa

    return getattr(pa, _SQL_TYPES[sql_type.split()[0]])()


def _schema() -> pa.Schema:
    import pyarrow as pa

    types = ["TEXT", "INTEGER", "INTEGER", "INTEGER", "INTEGER", *columns.SUMMARY_TYPES]
    fields = [pa.field(name, _arrow_type(t), nullable="NOT NULL" not in t or name == "id")
              for name, t in zip(PACK_COLUMNS, types, strict=True)]
    param = pa.struct([("key", pa.string()), ("kind", pa.int64()), ("num", pa.float64()), ("fnum", pa.float64()),
                       ("text", pa.string()), ("lower", pa.string()), ("stext", pa.string())])
    metric = pa.struct([("key", pa.string()), ("last_v", pa.float64()), ("min_v", pa.float64()),
                        ("max_v", pa.float64())])
    fields += [pa.field("param_rows", pa.list_(param)), pa.field("metric_rows", pa.list_(metric)),
               pa.field("tag_rows", pa.list_(pa.string()))]
    return pa.schema(fields, metadata={"nbtrack.pack": str(PACK_FORMAT), "nbtrack.columns": columns.VERSION})


def _parquet(table: pa.Table, row_group_size: int | None = None) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", row_group_size=row_group_size, write_page_checksum=True)
    return sink.getvalue()


def summary_pack(rows: IndexRows) -> bytes:
    """Index rows (runs ordered by id) as one summary pack's bytes (the same rows, the same bytes)."""
    import pyarrow as pa

    by_run: dict[str, tuple[list[Any], list[Any], list[Any]]] = {r[0]: ([], [], []) for r in rows.runs}
    for key, run, *rest in rows.params:
        by_run[run][0].append(dict(zip(columns.PARAM_COLUMNS[2:], rest), key=key))
    for key, run, *rest in rows.metrics:
        by_run[run][1].append(dict(zip(columns.METRIC_COLUMNS[2:], rest), key=key))
    for tag, run in rows.tags:
        by_run[run][2].append(tag)
    schema = _schema()
    picked = ([r[:5] + r[8:] for r in rows.runs])  # the pack leaves out state, final and pack
    data = {name: list(values) for name, values in zip(PACK_COLUMNS, zip(*picked))} if picked else {}
    children = [by_run[r[0]] for r in rows.runs]
    for i, name in enumerate(("param_rows", "metric_rows", "tag_rows")):
        data[name] = [c[i] for c in children]
    table = pa.table({name: data.get(name, []) for name in schema.names}, schema=schema)
    return _parquet(table)


def summary_rows(data: bytes, sha: str) -> IndexRows:
    """Summary pack `sha`'s rows for the index (its derived columns recomputed when another
    version of nbtrack computed them); PackDamaged when `data` is not a summary pack."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
        meta = table.schema.metadata or {}
        if meta.get(b"nbtrack.pack") != str(PACK_FORMAT).encode():
            raise PackDamaged("not a summary pack of this format")
        current = meta.get(b"nbtrack.columns") == columns.VERSION.encode()
        ids = table.column("id").to_pylist()
        if not current:  # another nbtrack computed the derived columns: compute them again
            return _recomputed(ids, table, sha)
        n = len(ids)
        book = [table.column(name).to_pylist() for name in BOOK_COLUMNS]
        summary = [table.column(name).to_pylist() for name in columns.SUMMARY_COLUMNS]
        out = IndexRows(runs=list(zip(*book, [None] * n, [1] * n, [sha] * n, *summary)))

        def flat(name: str) -> tuple[pa.Array, list[str]]:
            lists = table.column(name).combine_chunks()
            owners = pc.take(table.column("id").combine_chunks(), pc.list_parent_indices(lists)).to_pylist()
            return pc.list_flatten(lists), owners

        values, owners = flat("param_rows")
        parts = [values.field(n).to_pylist() for n in ("key", *columns.PARAM_COLUMNS[2:])]
        out.params = [(p[0], run, *p[1:]) for run, p in zip(owners, zip(*parts))] if owners else []
        values, owners = flat("metric_rows")
        parts = [values.field(n).to_pylist() for n in ("key", *columns.METRIC_COLUMNS[2:])]
        out.metrics = [(m[0], run, *m[1:]) for run, m in zip(owners, zip(*parts))] if owners else []
        values, owners = flat("tag_rows")
        out.tags = list(zip(values.to_pylist(), owners))
        return out
    except (pa.ArrowException, KeyError, ValueError, OSError) as exc:
        raise PackDamaged(f"not a readable summary pack: {exc}") from exc


def _recomputed(ids: list[str], table: pa.Table, sha: str) -> IndexRows:
    out = IndexRows()
    book = [table.column(name).to_pylist() for name in BOOK_COLUMNS]
    fields_cols = [table.column(name).to_pylist() for name in columns.FIELDS_COLUMNS]
    for i, run_id in enumerate(ids):
        fields = columns.summary_fields(run_id, [c[i] for c in fields_cols])
        out.runs.append((*(c[i] for c in book), None, 1, sha, *columns.summary_row(fields)))
        out.params += columns.param_rows(run_id, fields["params"])
        out.metrics += columns.metric_rows(run_id, fields["metrics"])
        out.tags += columns.tag_rows(run_id, fields["tags"])
    return out
