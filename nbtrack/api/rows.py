"""One read path for run tables: typed rows from the store's index, formatted only at the edges.

``rows()`` is what every table reads (``nbtrack.runs()``'s DataFrame, ``nbtrack runs``, the run
table widget, the REST API's run pages and the lab sidebar): each run's summary as a `RunRow`,
with its effective status (a running run whose process died reads as crashed) and its duration.
Times stay epoch seconds here; the DataFrame, the REST payload and the CLI each format them.
Filters and sorts read `RunRow.flat` (params and metric figures as their own columns, the start
as an ISO 8601 text, which sorts in time order).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from nbtrack.core.filters import predicate
from nbtrack.core.identity import liveness
from nbtrack.core.records import RUNNING
from nbtrack.store.store import Store

FilterSpec = str | Mapping[str, Any] | Callable[[Mapping[str, Any]], bool] | None
METRIC_FIGURES = ("last", "min", "max")


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


@dataclass(frozen=True)
class RunRow:
    """A run as tables show it."""

    id: str
    name: str
    status: str  # effective: running, finished, failed, crashed, killed
    user: str
    host: str
    started: float  # epoch seconds
    ended: float | None
    duration: float  # seconds (until now for a running run)
    tags: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # key -> last, min, max, step, count
    notes: list[str] = field(default_factory=list)
    notebook: str | None = None
    kernel_id: str | None = None
    replay_of: str | None = None
    parent: str | None = None  # the run this one belongs to (a search's candidate, a trial)
    sweep: str | None = None

    @classmethod
    def from_summary(cls, fields: Mapping[str, Any], now: float) -> RunRow:
        """A row from the index's summary fields (``RunState.summary_fields``) at time `now`."""
        status = liveness(fields["status"], fields["boot_id"], fields["pid"], fields["heartbeat"],
                          fields["last_seen"], now)
        started, ended = fields["started"], fields["ended"]
        end = ended if ended is not None else (now if status == RUNNING else fields["last_seen"])
        return cls(
            id=fields["id"], name=fields["name"], status=status, user=fields["user"], host=fields["host"],
            started=started, ended=ended, duration=max(end - started, 0.0), tags=list(fields["tags"]),
            params=dict(fields["params"]), metrics=dict(fields["metrics"]), notes=list(fields["notes"]),
            notebook=fields.get("notebook"), kernel_id=fields.get("kernel_id"), replay_of=fields.get("replay_of"),
            parent=fields.get("parent"),
            sweep=fields.get("sweep"),
        )

    @property
    def start(self) -> str | None:
        return iso(self.started)

    @cached_property
    def flat(self) -> dict[str, Any]:
        """The row as filters and sorts read it: ``params.<name>`` and ``metrics.<key>.<figure>``
        columns beside the base fields, the start as ISO text."""
        flat: dict[str, Any] = {
            "id": self.id, "name": self.name, "status": self.status, "user": self.user, "host": self.host,
            "start": self.start, "duration": self.duration, "tags": self.tags, "notes": self.notes,
            "notebook": self.notebook, "replay_of": self.replay_of, "params": self.params, "metrics": self.metrics,
            "parent": self.parent,
            "sweep": self.sweep,
        }
        for key, value in self.params.items():
            flat[f"params.{key}"] = value
        for key, figures in self.metrics.items():
            for which in METRIC_FIGURES:
                flat[f"metrics.{key}.{which}"] = figures[which]
        return flat

    def to_json(self) -> dict[str, Any]:
        """The REST API's ``RunSummary`` (and ``nbtrack runs --json``): start as ISO text."""
        return {
            "id": self.id, "name": self.name, "status": self.status, "user": self.user, "host": self.host,
            "start": self.start, "duration": self.duration, "tags": list(self.tags), "params": dict(self.params),
            "metrics": {k: dict(v) for k, v in self.metrics.items()}, "notes": list(self.notes),
            "notebook": self.notebook, "replay_of": self.replay_of, "sweep": self.sweep,
        }


def rows(store: Store, filter: FilterSpec = None, now: float | None = None) -> list[RunRow]:
    """Every run of `store` matching `filter` (see ``nbtrack.core.filters``), oldest first."""
    now = time.time() if now is None else now
    found = [RunRow.from_summary(fields, now) for fields in store.index.summaries()]
    if filter is None or filter == "":
        return found
    keep = predicate(filter)
    return [row for row in found if keep(row.flat)]
