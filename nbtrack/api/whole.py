"""Runs written whole, after the fact: their history is already known when nbtrack first sees
them (a run imported from MLflow, W&B or TensorBoard; a search's candidate; an optuna trial).

A `WholeRun` gathers the records of such a run, each with the time it happened, and `write`
appends them to the run's log in one go: the header first, the status last, blobs before the
records that refer to them. There is no writer thread and no heartbeat: the run is written
finished. The importer is the log's one writer, as a live run's process is for a live run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbtrack.core import framing, records
from nbtrack.core.records import FINISHED, Record
from nbtrack.core.run import json_safe
from nbtrack.core.series import Batch, encode_metrics
from nbtrack.store.store import Store

HEARTBEAT = 10.0  # declared in the header like any run's; a written run never needs one


@dataclass
class WholeRun:
    """The records of one run, gathered before it is written (`started`: epoch seconds)."""

    id: str
    started: float
    header: dict[str, Any] = field(default_factory=dict)  # name, tags, note, user, parent, origin, ...
    records: list[Record] = field(default_factory=list)

    def params(self, values: dict[str, Any], ts: float | None = None) -> None:
        if values:
            self.records.append(records.params(json_safe(values), ts=self._at(ts)))

    def metric(self, key: str, steps: Sequence[float], times: Sequence[float], values: Sequence[float]) -> None:
        """Every point of one metric: steps, times (epoch seconds) and values, in order."""
        if values:
            batch = Batch((key,), list(steps), list(times), [list(values)])
            self.records.extend(encode_metrics([batch], max(times, default=self.started)))

    def metrics_at(self, step: float, values: dict[str, float], ts: float | None = None) -> None:
        """Several metrics logged together at one step."""
        if values:
            at = self._at(ts)
            batch = Batch(tuple(values), [step], [at], [[float(v)] for v in values.values()])
            self.records.extend(encode_metrics([batch], at))

    def artifact(self, store: Store, name: str, data: bytes, kind: str = "file", ts: float | None = None) -> None:
        sha = store.put_blob(data)
        self.records.append(records.artifact(name, sha, len(data), kind, ts=self._at(ts)))

    def note(self, text: str, ts: float | None = None) -> None:
        if text:
            self.records.append(records.note(text, ts=self._at(ts)))

    def tags(self, tags: Iterable[str], ts: float | None = None) -> None:
        tags = [str(t) for t in tags]
        if tags:
            self.records.append(records.tags(tags, ts=self._at(ts)))

    def write(self, store: Store, ended: float | None, status: str = FINISHED, error: str | None = None) -> None:
        """Append the whole run to `store` (blobs were stored as they were added)."""
        header = records.run_header(self.id, HEARTBEAT, self.header, ts=self.started)
        body = sorted(self.records, key=lambda r: float(r["ts"]))
        end = ended if ended is not None else max([self.started, *(float(r["ts"]) for r in body)])
        last = records.status(status, error, ts=end)
        store.append(self.id, framing.encode_many([header, *body, last]))
        store.sync(self.id)
        store.end(self.id)

    def _at(self, ts: float | None) -> float:
        return self.started if ts is None else ts
