"""Store upkeep: verify everything (`fsck`) and remove what nothing refers to (`gc`).

Packs (``nbtrack.store.packs``) are verified like blobs (their bytes must hash to their name, and
a summary pack must read as one); `gc` removes pack files no pack list entry names (a client that
lost the race for an entry leaves its pack behind), never a listed pack and never a log."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from nbtrack.core.records import refs_of
from nbtrack.store import versions
from nbtrack.store.keys import BLOBS, NOTES, PACK_KINDS, PACKS, RUNS, kind_of, pack_key, pack_of
from nbtrack.store.packs import PackDamaged, entry_seqs, read_entry, read_pack, summary_rows
from nbtrack.store.store import Store

GRACE_SECONDS = 3600.0  # a blob younger than this may belong to a record not yet written


@dataclass
class FsckReport:
    runs: int = 0
    records: int = 0
    blobs: int = 0
    damaged_logs: dict[str, list[str]] = field(default_factory=dict)  # bytes lost
    recovered_logs: dict[str, list[str]] = field(default_factory=dict)  # torn writes: nothing lost
    corrupt_blobs: list[str] = field(default_factory=list)
    missing_blobs: dict[str, list[str]] = field(default_factory=dict)  # run -> hashes
    packs: int = 0
    damaged_packs: list[str] = field(default_factory=list)  # keys
    missing_packs: list[str] = field(default_factory=list)  # named by an entry, not in the store
    strays: list[str] = field(default_factory=list)  # files that are not part of the layout (ignored)

    @property
    def ok(self) -> bool:
        return not (self.damaged_logs or self.corrupt_blobs or self.missing_blobs or self.damaged_packs
                    or self.missing_packs)

    def lines(self) -> list[str]:
        out = [f"{self.runs} runs, {self.records} records, {self.blobs} blobs checked"]
        for run_id, damage in self.damaged_logs.items():
            out += [f"damaged log {run_id}: {d}" for d in damage]
        for run_id, damage in self.recovered_logs.items():
            out += [f"recovered log {run_id}: {d} (nothing lost)" for d in damage]
        out += [f"corrupt blob {sha}" for sha in self.corrupt_blobs]
        for run_id, shas in self.missing_blobs.items():
            out += [f"missing blob {sha} (referenced by run {run_id})" for sha in shas]
        if self.packs:
            out.insert(1, f"{self.packs} packs checked")
        out += [f"damaged pack {key} (its runs are read from their logs)" for key in self.damaged_packs]
        out += [f"missing pack {key} (named by the pack list)" for key in self.missing_packs]
        out += [f"not part of the store layout (ignored by nbtrack): {key}" for key in self.strays]
        out.append("ok" if self.ok else "problems found")
        return out


def referenced_blobs(store: Store, report: FsckReport | None = None) -> dict[str, str]:
    """Every blob hash some record refers to, with one run that refers to it."""
    refs: dict[str, str] = {}
    for run_id in store.run_ids():
        log = store.read_run(run_id)
        if report is not None:
            report.runs += 1
            report.records += len(log.records)
            if log.corrupt:
                report.damaged_logs[run_id] = [str(d) for d in log.corrupt]
            recovered = log.recovered + (log.damage[-1:] if log.torn_tail else [])
            if recovered:
                report.recovered_logs[run_id] = [str(d) for d in recovered]
        for record in log.records:
            for sha in refs_of(record):
                refs.setdefault(sha, run_id)
    return refs


def stray_keys(store: Store) -> list[str]:
    """Files in the store's folders that are not keys of its layout (planted or left by other
    tools): no reader sees them."""
    found = [key for key in store.backend.log_sizes(RUNS) if kind_of(key) != "log"]
    for prefix in (RUNS, NOTES, BLOBS, PACKS):
        found += [info.key for info in store.backend.list(prefix) if kind_of(info.key) is None]
    return sorted(set(found))


def fsck(store: Store) -> FsckReport:
    report = FsckReport()
    refs = referenced_blobs(store, report)
    report.strays = stray_keys(store)
    present = set()
    for info in store.backend.list("blobs"):
        if kind_of(info.key) != "blob":
            continue
        sha = info.key.rsplit("/", 1)[-1]
        present.add(sha)
        report.blobs += 1
        if hashlib.sha256(store.backend.read(info.key)).hexdigest() != sha:
            report.corrupt_blobs.append(sha)
    for sha, run_id in refs.items():
        if sha not in present:
            report.missing_blobs.setdefault(run_id, []).append(sha)
    _check_packs(store, report)
    return report


def listed_packs(store: Store) -> set[str]:
    """The keys of the packs the pack list names."""
    named = set()
    for seq in entry_seqs(store.backend):
        entry = read_entry(store.backend, seq)
        if entry is not None and entry.kind in PACK_KINDS:
            named.add(pack_key(entry.kind, entry.sha))
    return named


def _check_packs(store: Store, report: FsckReport) -> None:
    named = listed_packs(store)
    present = set()
    for info in store.backend.list(PACKS):
        found = pack_of(info.key)
        if found is None:
            continue
        present.add(info.key)
        report.packs += 1
        try:
            data = read_pack(store.backend, *found)
            if found[0] == "summaries":
                summary_rows(data, found[1])
        except PackDamaged:
            report.damaged_packs.append(info.key)
    report.missing_packs = sorted(named - present)


@dataclass
class GcReport:
    removed_blobs: list[str] = field(default_factory=list)
    removed_bytes: int = 0
    removed_temp: list[str] = field(default_factory=list)
    removed_packs: list[str] = field(default_factory=list)  # packs no entry names
    kept: int = 0


def gc(store: Store, dry_run: bool = False, grace: float = GRACE_SECONDS) -> GcReport:
    """Remove blobs no record refers to (older than `grace`) and leftover temporary files."""
    report = GcReport()
    cutoff = time.time() - grace
    refs = referenced_blobs(store)
    refs.update(dict.fromkeys(versions.referenced_blobs(store), "named versions"))  # data and models
    for info in list(store.backend.list("blobs")):
        sha = info.key.rsplit("/", 1)[-1]
        if kind_of(info.key) != "blob":
            continue  # not nbtrack's to remove
        if sha in refs or info.mtime >= cutoff:
            report.kept += 1
            continue
        report.removed_blobs.append(sha)
        report.removed_bytes += info.size
        if not dry_run:
            store.backend.delete(info.key)
    named = listed_packs(store)
    for info in list(store.backend.list(PACKS)):
        if pack_of(info.key) is None or info.key in named or info.mtime >= cutoff:
            continue
        report.removed_packs.append(info.key)
        report.removed_bytes += info.size
        if not dry_run:
            store.backend.delete(info.key)
    for key in store.backend.temp_leftovers(cutoff):
        report.removed_temp.append(key)
        if not dry_run:
            store.backend.delete(key)
    return report



