"""Reading the pack list into an index, and writing packs (``nbtrack.store.packs`` says why and how).

`read_pack_list` is the first step of every index refresh: one listing of ``packs/list``, then
the entries and summary packs the index has not seen, fetched concurrently. `compact` writes a
summary pack of the loose finished runs (and, with ``metrics=True``, metrics packs of their
metric columns); ``Index.refresh`` calls it when it sees many loose finished runs, ``nbtrack
compact`` on request.
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
    MAX_METRIC_POINTS,
    Entry,
    IndexRows,
    PackDamaged,
    entry_seqs,
    metrics_pack,
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
    metrics_packs: list[str] = field(default_factory=list)
    runs: int = 0  # runs whose summaries were packed
    metric_runs: int = 0
    lost_races: int = 0  # entries another client claimed first

    def line(self) -> str:
        return (f"{self.runs} runs packed in {len(self.summary_packs)} summary packs, metric columns of "
                f"{self.metric_runs} runs in {len(self.metrics_packs)} metrics packs")


def _map(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
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
    for seq, (entry, rows, problem) in zip(new, _map(fetch, new)):
        if problem:  # said once: the index remembers the entry, and fsck names the pack
            warnings.warn(f"nbtrack: {problem}; its runs are read from their logs", RuntimeWarning, stacklevel=3)
        added += index.add_pack(entry or Entry(seq, "unreadable", "", ()), rows)
    return added


def compact(index: Index, backend: Backend, metrics: bool = False, min_runs: int = 1) -> CompactReport:
    """Pack the loose finished runs `index` knows (at least `min_runs` of them, else nothing),
    and with `metrics` the metric columns of every finished run in no metrics pack."""
    report = CompactReport()
    read_pack_list(index, backend)
    rows = index.loose()
    while len(rows.runs) >= max(min_runs, 1):
        seqs = entry_seqs(backend)
        entry = publish(backend, "summaries", summary_pack(rows), [], (seqs[-1] + 1) if seqs else 0)
        if entry is None:  # another client took that entry: read it (and any since), then look again
            report.lost_races += 1
            read_pack_list(index, backend)
            rows = index.loose()
            continue
        index.add_pack(entry, rows)
        report.summary_packs.append(pack_key("summaries", entry.sha))
        report.runs += len(rows.runs)
        break
    if metrics:
        _compact_metrics(index, backend, report)
    return report


def _compact_metrics(index: Index, backend: Backend, report: CompactReport) -> None:
    store = index.store
    batch: list[tuple[str, str, Any, Any, Any]] = []
    runs: list[str] = []
    points = 0

    def flush() -> None:
        nonlocal batch, runs, points
        if not runs:
            return
        while True:
            seqs = entry_seqs(backend)
            entry = publish(backend, "metrics", metrics_pack(batch), runs, (seqs[-1] + 1) if seqs else 0)
            if entry is not None:
                break
            report.lost_races += 1
            read_pack_list(index, backend)
            kept = {r for r in runs if index.metrics_pack(r) is None}
            if not kept:
                batch, runs, points = [], [], 0
                return
            batch, runs = [s for s in batch if s[0] in kept], [r for r in runs if r in kept]
        index.add_pack(entry, None)
        report.metrics_packs.append(pack_key("metrics", entry.sha))
        report.metric_runs += len(runs)
        batch, runs, points = [], [], 0

    for run_id in index.metrics_loose():
        columns = run_columns(store.read_run(run_id, annotations=False).records)
        size = sum(len(v) for _s, _t, v in columns.values())
        if points and points + size > MAX_METRIC_POINTS:
            flush()
        batch += [(run_id, key, *series) for key, series in columns.items()]
        runs.append(run_id)
        points += size
    flush()


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
