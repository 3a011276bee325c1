"""The record kinds of a run log: one typed constructor per kind, used by every writer.

Every record is a JSON object with ``t`` (its kind) and ``ts`` (seconds since the epoch). A run
log starts with one ``run`` record. Any record may list blob hashes it keeps alive in ``refs``
(``nbtrack gc`` keeps every blob some record refers to). Kinds a reader does not know are kept
in the log and ignored (``nbtrack.core.state`` folds the known ones into a run's state), so
newer writers never break older readers. Records written by others than the run's own process
(notes, tags, save checkpoints, replay reports, server stamps) are annotations: separate
write-once objects beside the log (``Store.annotate``).

=============  ============================================================================
kind           fields
=============  ============================================================================
run            id, name, tags, note, user, host, boot_id, pid, platform, cwd, notebook,
               kernel_id, kernel_name, replay_of, hash_seed (the kernel's ``PYTHONHASHSEED``,
               "random" when unset), heartbeat (seconds), format; parent (the id
               of the run this one belongs to: a search's candidate, an optuna trial); origin
               (imported runs: {system, id, uri, ...} of the run it was imported from); a
               sweep's trial also sweep, trial, attempt (``core.sweep_state``)
metrics        keys, n, step, time, values: base64 float64 arrays (see ``core.series``)
params         values: {name: JSON value}
note           text, user (annotations)
tags           add: [tag, ...], user (annotations)
artifact       name, sha256, size, kind ("file" | "bytes" | "model"), refs
data           path, sha256, files, bytes, manifest (blob of the file list), refs; for stored
               data also name, version and content (blob of its content manifest)
model          name, version, content (a model version registered from this run; annotations)
heartbeat      (nothing else)
status         status, error (for failed runs)
cell           one cell execution: seq, cell_id, execution_count, source, started, duration,
               ok, error, outputs (blob), rng (blob of the random generators' state before
               it ran, ``capture.rng``; absent when unknown), refs
snapshot       manifest (blob), reason, source, path, refs: a notebook stored cell by cell
env            sha256 (blob of the environment JSON), refs
warning        kind, message, cells
confusion      step, labels, matrix
report         sha256 (blob of a replay's reproducibility report), verdict, refs
curves         sha256 (blob of every metric's min/max envelope, written when the run finishes:
               see ``core.series.MetricHistory.curves``), refs
=============  ============================================================================
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict

RUNNING, FINISHED, FAILED, CRASHED, KILLED = "running", "finished", "failed", "crashed", "killed"
STATUSES = (RUNNING, FINISHED, FAILED, CRASHED, KILLED)
FORMAT = 1  # the log format a run header declares

Record = Mapping[str, Any]  # any record: one built here, or one read back from a log


def _now(ts: float | None) -> float:
    return time.time() if ts is None else ts


def _refs(*shas: str | None) -> list[str]:
    return sorted({sha for sha in shas if sha})


class RunHeader(TypedDict, total=False):
    t: Literal["run"]
    ts: float
    id: str
    heartbeat: float
    format: int
    name: str
    tags: list[str]
    note: str
    user: str
    host: str
    boot_id: str
    pid: int
    platform: str
    cwd: str
    notebook: str
    kernel_id: str
    kernel_name: str
    replay_of: str
    hash_seed: str
    parent: str
    origin: dict[str, Any]
    sweep: str
    trial: int
    attempt: str


def run_header(run_id: str, heartbeat: float, fields: Mapping[str, Any], ts: float | None = None) -> RunHeader:
    """The first record of a run's log: who, where, and what the run is (`fields`: the
    optional header fields of the table above; None values are left out)."""
    header: dict[str, Any] = {"t": "run", "ts": _now(ts), "id": run_id, "heartbeat": heartbeat, "format": FORMAT}
    header.update({k: v for k, v in fields.items() if v is not None})
    return header  # type: ignore[return-value]


class MetricsRecord(TypedDict):
    t: Literal["metrics"]
    ts: float
    keys: list[str]
    n: int
    step: str
    time: str
    values: list[str]


def metrics(
    keys: Sequence[str], n: int, step: str, times: str, values: list[str], ts: float | None = None
) -> MetricsRecord:
    """One batch of points of `keys` logged together (columns packed by ``core.series``)."""
    return {"t": "metrics", "ts": _now(ts), "keys": list(keys), "n": n, "step": step, "time": times, "values": values}


class ParamsRecord(TypedDict):
    t: Literal["params"]
    ts: float
    values: dict[str, Any]


def params(values: dict[str, Any], ts: float | None = None) -> ParamsRecord:
    return {"t": "params", "ts": _now(ts), "values": dict(values)}


class NoteRecord(TypedDict, total=False):
    t: Literal["note"]
    ts: float
    text: str
    user: str


def note(text: str, user: str | None = None, ts: float | None = None) -> NoteRecord:
    record: NoteRecord = {"t": "note", "ts": _now(ts), "text": str(text)}
    if user is not None:
        record["user"] = user
    return record


class TagsRecord(TypedDict, total=False):
    t: Literal["tags"]
    ts: float
    add: list[str]
    user: str


def tags(add: Sequence[str], user: str | None = None, ts: float | None = None) -> TagsRecord:
    record: TagsRecord = {"t": "tags", "ts": _now(ts), "add": [str(t) for t in add]}
    if user is not None:
        record["user"] = user
    return record


class ArtifactRecord(TypedDict):
    t: Literal["artifact"]
    ts: float
    name: str
    sha256: str
    size: int
    kind: str
    refs: list[str]


def artifact(name: str, sha256: str, size: int, kind: str, ts: float | None = None) -> ArtifactRecord:
    return {"t": "artifact", "ts": _now(ts), "name": name, "sha256": sha256, "size": size, "kind": kind,
            "refs": [sha256]}


class DataRecord(TypedDict):
    t: Literal["data"]
    ts: float
    path: str
    sha256: str
    files: int
    bytes: int
    manifest: str
    refs: list[str]


class StoredDataRecord(DataRecord, total=False):
    name: str
    version: int
    content: str


def data(path: str, sha256: str, files: int, size: int, manifest: str, ts: float | None = None,
         version: tuple[str, int, str] | None = None) -> StoredDataRecord:
    """A data fingerprint: the path as given, the tree's hash, its file count and size, and the
    blob listing each file (relative path -> size, sha256); with `version` (name, number,
    content manifest) the data's content is stored as that named version."""
    record: StoredDataRecord = {"t": "data", "ts": _now(ts), "path": path, "sha256": sha256, "files": files,
                                "bytes": size, "manifest": manifest, "refs": [manifest]}
    if version is not None:
        record["name"], record["version"], record["content"] = version
        record["refs"] = _refs(manifest, version[2])
    return record


class ModelRecord(TypedDict):
    t: Literal["model"]
    ts: float
    name: str
    version: int
    content: str
    refs: list[str]


def model(name: str, version: int, content: str, ts: float | None = None) -> ModelRecord:
    """A model version registered from a run (an annotation on the run: ``name@version``)."""
    return {"t": "model", "ts": _now(ts), "name": name, "version": version, "content": content,
            "refs": [content]}


class HeartbeatRecord(TypedDict):
    t: Literal["heartbeat"]
    ts: float


def heartbeat(ts: float | None = None) -> HeartbeatRecord:
    return {"t": "heartbeat", "ts": _now(ts)}


class StatusRecord(TypedDict, total=False):
    t: Literal["status"]
    ts: float
    status: str
    error: str


def status(value: str, error: str | None = None, ts: float | None = None) -> StatusRecord:
    if value not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {value!r}")
    record: StatusRecord = {"t": "status", "ts": _now(ts), "status": value}
    if error:
        record["error"] = error
    return record


class _CellRng(TypedDict, total=False):
    rng: str


class CellRecord(_CellRng):
    t: Literal["cell"]
    ts: float
    seq: int
    cell_id: str | None
    execution_count: int | None
    source: str
    started: float
    duration: float
    ok: bool
    error: dict[str, Any] | None
    outputs: str | None
    refs: list[str]


def cell(seq: int, cell_id: str | None, execution_count: int | None, source: str, started: float, ended: float,
         error: dict[str, Any] | None, outputs: str | None, blobs: Sequence[str] = (),
         rng: str | None = None) -> CellRecord:
    """One cell execution: its source as it ran, timing, error (ename, evalue, traceback) and the
    blob of its outputs (nbformat v4 output dicts; `blobs`: the blobs those outputs reference,
    see ``core.outputs.externalize``); `rng`: the blob of the random state before it ran."""
    record: CellRecord = {
        "t": "cell", "ts": ended, "seq": seq, "cell_id": cell_id, "execution_count": execution_count,
        "source": source, "started": started, "duration": max(ended - started, 0.0), "ok": error is None,
        "error": error, "outputs": outputs, "refs": _refs(outputs, rng, *blobs)}
    if rng:
        record["rng"] = rng
    return record


class SnapshotRecord(TypedDict):
    t: Literal["snapshot"]
    ts: float
    manifest: str
    reason: str
    source: str
    path: str | None
    refs: list[str]


def snapshot(manifest: str, cells: Sequence[str], reason: str, source: str, path: str | None,
             ts: float | None = None) -> SnapshotRecord:
    """A notebook snapshot: the manifest blob listing its cells' blobs (``core.snapshot``);
    `source` says where the notebook came from (disk, colab, vscode, rebuilt, ...)."""
    return {"t": "snapshot", "ts": _now(ts), "manifest": manifest, "reason": reason, "source": source,
            "path": path, "refs": _refs(*cells)}


class EnvRecord(TypedDict):
    t: Literal["env"]
    ts: float
    sha256: str
    refs: list[str]


def env(sha256: str, ts: float | None = None) -> EnvRecord:
    return {"t": "env", "ts": _now(ts), "sha256": sha256, "refs": [sha256]}


class WarningRecord(TypedDict):
    t: Literal["warning"]
    ts: float
    kind: str
    message: str
    cells: list[str]


def warning(kind: str, message: str, cells: Sequence[str], ts: float | None = None) -> WarningRecord:
    return {"t": "warning", "ts": _now(ts), "kind": kind, "message": message, "cells": list(cells)}


class ConfusionRecord(TypedDict):
    t: Literal["confusion"]
    ts: float
    step: float
    labels: list[Any]
    matrix: list[list[int]]


def confusion(
    step: float, labels: Sequence[Any], matrix: Sequence[Sequence[int]], ts: float | None = None
) -> ConfusionRecord:
    return {"t": "confusion", "ts": _now(ts), "step": step, "labels": list(labels),
            "matrix": [list(row) for row in matrix]}


class ReportRecord(TypedDict):
    t: Literal["report"]
    ts: float
    sha256: str
    verdict: str
    refs: list[str]


def report(sha256: str, verdict: str, ts: float | None = None) -> ReportRecord:
    return {"t": "report", "ts": _now(ts), "sha256": sha256, "verdict": verdict, "refs": [sha256]}


class CurvesRecord(TypedDict):
    t: Literal["curves"]
    ts: float
    sha256: str
    refs: list[str]


def curves(sha256: str, ts: float | None = None) -> CurvesRecord:
    return {"t": "curves", "ts": _now(ts), "sha256": sha256, "refs": [sha256]}


CONSTRUCTORS: dict[str, Callable[..., Any]] = {
    "run": run_header, "metrics": metrics, "params": params, "note": note, "tags": tags, "artifact": artifact,
    "data": data, "heartbeat": heartbeat, "status": status, "cell": cell, "snapshot": snapshot, "env": env,
    "warning": warning, "confusion": confusion, "report": report, "model": model, "curves": curves,
}
KINDS = tuple(CONSTRUCTORS)
# what someone other than the run's writer may add beside its log (notes and tags by anyone;
# save checkpoints, replay reports and replayed params, model versions registered from the run);
# any other kind found in an annotation (a status, a cell, a metric...) would rewrite the run's
# own history and is ignored
ANNOTATION_KINDS = frozenset({"note", "tags", "snapshot", "report", "params", "model"})


def refs_of(record: Record) -> list[str]:
    """Blob hashes a record keeps alive."""
    refs = list(record.get("refs") or [])
    for key in ("sha256", "manifest", "outputs"):
        value = record.get(key)
        if isinstance(value, str) and len(value) == 64:
            refs.append(value)
    return refs
