"""A run's state, reduced from its records (``nbtrack.core.records``): what the index keeps and
every table reads. `reduce` folds records in log order; annotations (added later by others)
are folded after the log's own records.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from nbtrack.core.records import RUNNING, Record
from nbtrack.core.series import decode_metrics


@dataclass
class MetricSummary:
    last: float
    min: float
    max: float
    step: float
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"last": self.last, "min": self.min, "max": self.max, "step": self.step, "count": self.count}

    def add(self, step: float, value: float) -> None:
        self.last, self.step, self.count = value, step, self.count + 1
        if not math.isnan(value):
            self.min = value if math.isnan(self.min) else min(self.min, value)
            self.max = value if math.isnan(self.max) else max(self.max, value)

    def extend(self, last_step: float, values: Sequence[float]) -> None:
        """`add` every value of a column at once (`last_step`: the step of the last one)."""
        if not values:
            return
        self.last, self.step, self.count = values[-1], last_step, self.count + len(values)
        try:
            low, high = min(values), max(values)  # C loops; NaN makes them unreliable: checked below
        except TypeError:
            low = high = math.nan
        if math.isnan(low) or math.isnan(high) or math.isnan(sum(values)):
            kept = [v for v in values if not math.isnan(v)]
            if not kept:
                return
            low, high = min(kept), max(kept)
        self.min = low if math.isnan(self.min) else min(self.min, low)
        self.max = high if math.isnan(self.max) else max(self.max, high)


@dataclass
class RunState:
    """What a run is, reduced from its records. Cheap to keep and to serialise (the index row)."""

    id: str = ""
    name: str = ""
    status: str = RUNNING
    user: str = ""
    host: str = ""
    boot_id: str = ""
    pid: int = 0
    started: float = 0.0
    ended: float | None = None
    last_seen: float = 0.0
    heartbeat: float = 10.0
    tags: list[str] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)  # versions registered from the run
    warnings: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    env: str | None = None
    error: str | None = None
    notebook: str | None = None
    kernel_id: str | None = None
    replay_of: str | None = None
    sweep: str | None = None  # the sweep this run is a trial of
    parent: str | None = None
    origin: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    curves: str | None = None  # blob of the metrics' envelopes, stored when the run finished
    platform: str = ""
    cwd: str = ""
    cells: int = 0
    confusions: int = 0

    def to_json(self) -> dict[str, Any]:
        """The state as JSON values (for serialising: lists and dicts are shared, not copied)."""
        data = {name: getattr(self, name) for name in _FIELDS}
        data["metrics"] = {k: m.to_json() for k, m in self.metrics.items()}
        return data

    def summary_fields(self) -> dict[str, Any]:
        """The fields run tables show, plus what liveness needs (kept in the index as JSON)."""
        return {
            "id": self.id, "name": self.name, "status": self.status, "user": self.user,
            "host": self.host, "boot_id": self.boot_id, "pid": self.pid, "started": self.started,
            "ended": self.ended, "last_seen": self.last_seen, "heartbeat": self.heartbeat,
            "tags": self.tags, "params": self.params,
            "metrics": {k: m.to_json() for k, m in self.metrics.items()},
            "notebook": self.notebook, "kernel_id": self.kernel_id, "replay_of": self.replay_of,
            "parent": self.parent, "origin": self.origin, "sweep": self.sweep,
            "notes": [n["text"] for n in self.notes], "curves": self.curves,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        data = dict(data)
        data["metrics"] = {k: MetricSummary(**v) for k, v in data.get("metrics", {}).items()}
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


_FIELDS = tuple(f.name for f in fields(RunState))
Reducer = Callable[["RunState", Record, float], None]


def apply(state: RunState, record: Record) -> None:
    """Fold one record into `state` (in place). Unknown kinds only refresh liveness."""
    kind = record.get("t")
    ts = float(record.get("ts") or 0.0)
    if kind not in ("note", "tags"):  # annotations may come from others, later: not liveness
        state.last_seen = max(state.last_seen, ts)
    handler = REDUCERS.get(kind)  # type: ignore[arg-type]
    if handler is not None:
        handler(state, record, ts)


def _run(state: RunState, r: Record, ts: float) -> None:
    state.id = r.get("id", state.id)
    state.name = r.get("name") or ""
    state.started = ts
    for key in ("user", "host", "boot_id", "platform", "cwd", "notebook", "kernel_id", "replay_of", "parent", "origin",
                "sweep"):
        if r.get(key) is not None:
            setattr(state, key, r[key])
    state.pid = int(r.get("pid") or 0)
    state.heartbeat = float(r.get("heartbeat") or state.heartbeat)
    _add_tags(state, r.get("tags") or [])
    if r.get("note"):
        state.notes.append({"time": ts, "text": r["note"]})


def _metrics(state: RunState, r: Record, ts: float) -> None:
    keys, steps, _times, columns = decode_metrics(r)
    if not steps:
        return
    for key, values in zip(keys, columns):
        summary = state.metrics.get(key)
        if summary is None:
            summary = state.metrics[key] = MetricSummary(values[0], math.nan, math.nan, steps[0], 0)
        summary.extend(steps[len(steps) - 1], values)


def _add_tags(state: RunState, tags: list[str]) -> None:
    for tag in tags:
        if tag not in state.tags:
            state.tags.append(tag)


def _status(state: RunState, r: Record, ts: float) -> None:
    state.status = r.get("status", state.status)
    if state.status != RUNNING:
        state.ended = ts
    state.error = r.get("error") or state.error


def _snapshot(state: RunState, r: Record, ts: float) -> None:
    # in time order: snapshots added later as annotations (checkpoints on save) may be older
    # than the log's last ones; `index` is the position in time (as ``Run.snapshots``)
    at = len(state.snapshots)
    while at and state.snapshots[at - 1]["time"] > ts:
        at -= 1
    state.snapshots.insert(at, {"time": ts, "reason": r.get("reason", ""), "manifest": r.get("manifest")})
    for index, entry in enumerate(state.snapshots[at:], start=at):
        entry["index"] = index


def _artifact(state: RunState, r: Record, ts: float) -> None:
    entry = {k: r.get(k) for k in ("name", "sha256", "size", "kind")} | {"time": ts}
    state.artifacts = [a for a in state.artifacts if a["name"] != entry["name"]] + [entry]


def _data(state: RunState, r: Record, ts: float) -> None:
    entry = {k: r.get(k) for k in ("path", "sha256", "files", "bytes", "manifest")} | {"time": ts}
    entry |= {k: r[k] for k in ("name", "version", "content") if r.get(k) is not None}  # stored data
    state.data = [d for d in state.data if d["path"] != entry["path"]] + [entry]


def _model(state: RunState, r: Record, ts: float) -> None:
    entry = {"name": r.get("name"), "version": r.get("version"), "content": r.get("content"), "time": ts}
    if entry not in state.models:
        state.models.append(entry)


def _count(attr: str):  # type: ignore[no-untyped-def]
    def handler(state: RunState, r: Record, ts: float) -> None:
        setattr(state, attr, getattr(state, attr) + 1)

    return handler


def _report(state: RunState, r: Record, ts: float) -> None:
    state.report = {"sha256": r.get("sha256"), "verdict": r.get("verdict")}


REDUCERS: dict[str, Reducer] = {  # one entry per kind of ``core.records``
    "run": _run,
    "metrics": _metrics,
    "params": lambda s, r, ts: s.params.update(r.get("values") or {}),
    "note": lambda s, r, ts: s.notes.append({"time": ts, "text": str(r.get("text", ""))}),
    "tags": lambda s, r, ts: _add_tags(s, list(r.get("add") or [])),
    "status": _status,
    "snapshot": _snapshot,
    "artifact": _artifact,
    "data": _data,
    "model": _model,
    "env": lambda s, r, ts: setattr(s, "env", r.get("sha256")),
    "warning": lambda s, r, ts: s.warnings.append({k: r.get(k) for k in ("kind", "message", "cells")}),
    "cell": _count("cells"),
    "confusion": _count("confusions"),
    "report": _report,
    "curves": lambda s, r, ts: setattr(s, "curves", r.get("sha256")),
    "heartbeat": lambda s, r, ts: None,  # liveness only (every record refreshes it)
}


def reduce(records: Iterable[Record], state: RunState | None = None) -> RunState:
    state = state or RunState()
    for record in records:
        apply(state, record)
    return state
