"""Copy what is missing from one store to another: runs (their logs, byte for byte), their
annotations, every blob their records refer to, the data and model versions they name, and the
events of the sweeps they belong to (so a sweep's table and progress read the same there).

A run's log in the destination is always a byte-prefix of its log in the source, so copying is
"append the bytes the destination does not have yet": a live run is copied again later and only
its new bytes travel, a second copy of a finished run copies nothing, and a destination whose log
is longer (the run's own store) is left alone. A destination log that is not a prefix of the
source's (two different histories under one run id) is reported as a conflict and never touched;
when the source knows its logs' hashes (a bundle's manifest: `digest_of`), a destination log of
the same size or longer is checked against it too, so other bytes of the same size conflict.

Blobs go first and logs last, so a reader of the destination never meets a record whose blob is
not there yet. Every blob is verified against its hash as it is read from the source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nbtrack.core import framing
from nbtrack.core.content import chunk_refs
from nbtrack.core.records import refs_of
from nbtrack.store.keys import (
    ALIASES,
    DATA,
    MODELS,
    blob_key,
    kind_of,
    log_key,
    notes_prefix,
    numbered_key,
    numbered_prefix,
    run_of,
    sweep_of,
    sweep_prefix,
)
from nbtrack.store.store import Store

Progress = Callable[[str], None]


@dataclass
class SyncReport:
    new_runs: list[str] = field(default_factory=list)
    extended_runs: list[str] = field(default_factory=list)
    unchanged_runs: int = 0
    conflicts: dict[str, str] = field(default_factory=dict)
    blobs: int = 0
    versions: int = 0  # data and model version records, and the moves of those models' aliases
    sweep_events: int = 0  # events of the sweeps the copied runs belong to
    notes: int = 0
    bytes: int = 0

    @property
    def copied_anything(self) -> bool:
        return bool(self.new_runs or self.extended_runs or self.blobs or self.notes or self.versions
                    or self.sweep_events)

    def line(self) -> str:
        text = (f"{len(self.new_runs)} new runs, {len(self.extended_runs)} extended, "
                f"{self.unchanged_runs} unchanged; {self.blobs} blobs, {self.notes} notes, {self.versions} versions, "
                f"{self.sweep_events} sweep events, "
                f"{self.bytes} bytes copied")
        if self.conflicts:
            text += f"; {len(self.conflicts)} conflicts"
        return text


def run_sizes(store: Store) -> dict[str, int]:
    return {run_of(key): size for key, size in store.backend.log_sizes("runs").items() if kind_of(key) == "log"}


def sync_stores(
    source: Store,
    target: Store,
    run_ids: Iterable[str] | None = None,
    progress: Progress | None = None,
    digest_of: Callable[[str], str | None] | None = None,
) -> SyncReport:
    """Copy the runs `run_ids` (all runs when None) and what they need from `source` to
    `target`; returns what was copied. Safe to repeat and to run while runs are being written.
    `digest_of(log key)`: the sha256 of a source log, when the source knows it cheaply."""
    report = SyncReport()
    source_sizes = run_sizes(source)
    target_sizes = run_sizes(target)
    wanted = sorted(source_sizes) if run_ids is None else list(dict.fromkeys(run_ids))
    missing = [r for r in wanted if r not in source_sizes]
    if missing:
        raise FileNotFoundError(f"no run {missing[0]} in {source.url}")
    target_blobs: set[str] | None = None
    target_notes = {info.key for info in target.backend.list("notes")}
    sweeps_named: set[str] = set()
    for run_id in wanted:
        have = target_sizes.get(run_id, 0)
        expected = digest_of(log_key(run_id)) if digest_of and have >= source_sizes[run_id] > 0 else None
        if expected is not None:
            held = target.backend.read_log(log_key(run_id))[: source_sizes[run_id]]
            if hashlib.sha256(held).hexdigest() != expected:
                report.conflicts[run_id] = "the two stores hold different logs for this run id (same size, other bytes)"
                continue
        source_notes = [info.key for info in source.backend.list(notes_prefix(run_id)) if kind_of(info.key) == "note"]
        new_notes = [key for key in source_notes if key not in target_notes]
        if have >= source_sizes[run_id] and not new_notes:
            report.unchanged_runs += 1  # same size (or more: its own store): nothing to copy
            continue
        data = source.backend.read_log(log_key(run_id)) if have < source_sizes[run_id] else b""
        if 0 < have < len(data) and target.backend.read_log(log_key(run_id))[:have] != data[:have]:
            report.conflicts[run_id] = "the two stores hold different logs for this run id"
            continue
        note_bytes = {key: source.backend.read(key) for key in new_notes}
        found = framing.decode(data).records + [r for raw in note_bytes.values() for r in framing.decode(raw).records]
        refs = {sha for record in found for sha in refs_of(record)} | _content_chunks(source, found)
        if refs:
            if target_blobs is None:
                target_blobs = {info.key.rsplit("/", 1)[-1] for info in target.backend.list("blobs")}
            for sha in sorted(refs - target_blobs):
                if not source.has_blob(sha):
                    continue  # referenced but never stored (fsck reports it); nothing to copy
                blob = source.get_blob(sha, verify=True)
                target.backend.write_once(blob_key(sha), blob)
                target_blobs.add(sha)
                report.blobs += 1
                report.bytes += len(blob)
        for key in _named_versions(source, found):  # after their blobs, before the records naming them
            if target.backend.write_once(key, source.backend.read(key)):
                report.versions += 1
        sweeps_named |= {str(r["sweep"]) for r in found if r.get("sweep")}
        for key, raw in note_bytes.items():
            if target.backend.write_once(key, raw):
                report.notes += 1
                report.bytes += len(raw)
            target_notes.add(key)
        if len(data) > have:
            target.append(run_id, data[have:])
            target.sync(run_id)
            report.bytes += len(data) - have
            (report.new_runs if have == 0 else report.extended_runs).append(run_id)
            if progress:
                progress(run_id)
        elif new_notes:
            report.extended_runs.append(run_id)
    report.sweep_events = _copy_sweeps(source, target, sweeps_named)
    return report



def _copy_sweeps(source: Store, target: Store, named: set[str]) -> int:
    """Copy the events the target lacks of the sweeps `named` by the copied runs and of those the
    target already holds (a sweep goes on after its runs were copied: its later events follow).
    Events are write-once, so each is copied at most once; one listing of each store."""
    have = {info.key for info in target.backend.list(sweep_prefix())}
    wanted = named | {sweep for sweep in map(sweep_of, have) if sweep}
    copied = 0
    for info in source.backend.list(sweep_prefix()):
        if sweep_of(info.key) in wanted and info.key not in have:
            copied += target.backend.write_once(info.key, source.backend.read(info.key))
    return copied


def _content_chunks(source: Store, found: list[dict[str, Any]]) -> set[str]:
    """The chunks of the stored content (data versions, models) the records name: a record refers
    to the content's manifest, which lists them."""
    chunks: set[str] = set()
    for sha in {r["content"] for r in found if r.get("t") in ("data", "model") and r.get("content")}:
        try:
            chunks |= chunk_refs(source.get_json(sha))
        except (FileNotFoundError, ValueError):  # missing or damaged: fsck reports it
            continue
    return chunks


def _named_versions(source: Store, found: list[dict[str, Any]]) -> list[str]:
    """The version records the records name (``data/NAME/N``, ``models/NAME/N``), and every
    alias move of those models, as the source holds them."""
    keys: list[str] = []
    models: set[str] = set()
    for record in found:
        kind = {"data": DATA, "model": MODELS}.get(str(record.get("t")))
        if kind is None or not record.get("name") or not record.get("version"):
            continue
        keys.append(numbered_key(numbered_prefix(kind, record["name"]), int(record["version"])))
        if kind == MODELS:
            models.add(record["name"])
    for model in sorted(models):
        keys += [info.key for info in source.backend.list(numbered_prefix(ALIASES, model))
                 if kind_of(info.key) == "alias"]
    return [key for key in dict.fromkeys(keys) if source.backend.exists(key)]
