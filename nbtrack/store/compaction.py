"""Reading the pack list into an index, and writing packs (``nbtrack.store.packs`` says why and how).

`read_pack_list` is the first step of every index refresh: one listing of ``packs/list``, then
the entries and summary packs the index has not seen, fetched concurrently. `compact` writes a
summary pack of the loose finished runs; ``Index.refresh`` calls it when it sees many loose
finished runs, ``nbtrack compact`` on request.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbtrack.core.series import decode_metrics
from nbtrack.store.backend import Backend
from nbtrack.store.keys import pack_key
from nbtrack.store.packs import (
    Entry,
    IndexRows,
    PackDamaged,
    entry_seqs,
    publish,
    read_entry,
    read_pack,
    summary_pack,
    summary_rows,
)

if TYPE_CHECKING:
    from nbtrack.store.index import Index

FETCH_THREADS = 16


@dataclass
class CompactReport:
    summary_packs: list[str] = field(default_factory=list)
    runs: int = 0  # runs whose summaries were packed
    lost_races: int = 0  # entries another client claimed first

    def line(self) -> str:
        return f"{self.runs} runs packed in {len(self.summary_packs)} summary packs"


def concurrently(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """`fn` of each item, up to `FETCH_THREADS` at once (each a request to a store)."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(FETCH_THREADS, len(items))) as pool:
        return list(pool.map(fn, items))


def read_pack_list(index: Index, backend: Backend) -> int:
    """Read the pack list entries `index` has not seen yet; returns how many runs they added."""
    seen = index.pack_seqs()
    new = [seq for seq in entry_seqs(backend) if seq not in seen]
    if not new:
        return 0

    def fetch(seq: int) -> tuple[Entry | None, IndexRows | None, str]:
        entry = read_entry(backend, seq)
        if entry is None or entry.kind != "summaries":
            return entry, None, ""
        try:
            return entry, summary_rows(read_pack(backend, entry.kind, entry.sha), entry.sha), ""
        except (PackDamaged, FileNotFoundError) as exc:
            return entry, None, str(exc)

    added = 0
    for seq, (entry, rows, problem) in zip(new, concurrently(fetch, new)):
        if problem:  # said once: the index remembers the entry, and fsck names the pack
            warnings.warn(f"nbtrack: {problem}; its runs are read from their logs", RuntimeWarning, stacklevel=3)
        added += index.add_pack(entry or Entry(seq, "unreadable", "", ()), rows)
    return added


def compact(index: Index, backend: Backend, min_runs: int = 1) -> CompactReport:
    """Pack the loose finished runs `index` knows (at least `min_runs` of them, else nothing)."""
    report = CompactReport()
    read_pack_list(index, backend)
    rows = index.loose()
    while len(rows.runs) >= max(min_runs, 1):
        seqs = entry_seqs(backend)
        entry = publish(backend, "summaries", summary_pack(rows), [], (seqs[-1] + 1) if seqs else 0, index.coverage())
        if entry is None:  # another client took that entry: read it (and any since), then look again
            report.lost_races += 1
            read_pack_list(index, backend)
            rows = index.loose()
            continue
        index.add_pack(entry, rows)
        report.summary_packs.append(pack_key("summaries", entry.sha))
        report.runs += len(rows.runs)
        break
    return report


def record_chunks(records: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, tuple[Any, Any, Any]]]:
    """(key, (steps, times, values) as float64 numpy arrays) per key of each ``metrics`` record, in
    logging order: views of the decoded columns, no Python object per point."""
    import numpy as np

    for record in records:
        if record.get("t") != "metrics":
            continue
        keys, steps, times, values = decode_metrics(record)
        s, t = np.frombuffer(steps, dtype=np.float64), np.frombuffer(times, dtype=np.float64)
        for key, column in zip(keys, values):
            yield key, (s, t, np.frombuffer(column, dtype=np.float64))


def run_columns(records: Iterable[Mapping[str, Any]], keys: Iterable[str] | None = None
                ) -> dict[str, tuple[Any, Any, Any]]:
    """Every metric of a run's records (or those in `keys`) as numpy arrays (steps, times, values),
    in logging order."""
    import numpy as np

    wanted = None if keys is None else set(keys)
    parts: dict[str, list[tuple[Any, Any, Any]]] = {}
    for key, chunk in record_chunks(records):
        if wanted is None or key in wanted:
            parts.setdefault(key, []).append(chunk)
    return {key: tuple(np.concatenate(c) for c in zip(*chunks)) for key, chunks in parts.items()}  # type: ignore[misc]
