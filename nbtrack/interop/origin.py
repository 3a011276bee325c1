"""What every importer shares: an imported run's identity and the report of an import."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nbtrack.api.whole import WholeRun
from nbtrack.core.ids import derived_run_id
from nbtrack.store.store import Store


@dataclass
class TransferReport:
    """What an import or an export did: runs copied, already there, and left out (with why)."""

    copied: list[str] = field(default_factory=list)  # ids in the destination
    unchanged: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # origin id -> why it was left out

    def line(self) -> str:
        text = f"{len(self.copied)} new runs, {self.unchanged} already there"
        return text + (f", {len(self.skipped)} left out" if self.skipped else "")


class Importer:
    """Imports into `store` from one system: `begin` gives the run to fill, or None when the
    origin's run is already in the store."""

    def __init__(self, store: Store, system: str, uri: str) -> None:
        self.store = store
        self.system = system
        self.uri = uri
        self.report = TransferReport()
        self._existing = set(store.run_ids())

    def run_id(self, origin_id: str, started: float) -> str:
        return derived_run_id(started, f"{self.system}:{origin_id}")

    def has(self, run_id: str) -> bool:
        return run_id in self._existing

    def begin(self, origin_id: str, started: float, header: dict[str, Any], **origin: Any) -> WholeRun | None:
        run_id = self.run_id(origin_id, started)
        if self.has(run_id):
            self.report.unchanged += 1
            return None
        fields = {k: v for k, v in header.items() if v not in (None, "", [])}
        fields["origin"] = {"system": self.system, "id": origin_id, "uri": self.uri,
                            **{k: v for k, v in origin.items() if v not in (None, "")}}
        return WholeRun(run_id, started, fields)

    def done(self, run: WholeRun) -> None:
        self._existing.add(run.id)
        self.report.copied.append(run.id)


def typed(text: str) -> Any:
    """A parameter stored as text by another tracker, as the value it stands for: JSON (numbers,
    booleans, null, lists, objects, quoted text) is parsed; any other text stays text."""
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text


def as_text(value: Any) -> str:
    """A parameter as text for another tracker, so that `typed` gives it back: text as it is
    unless it would read as JSON (then it is quoted), every other value as JSON."""
    if isinstance(value, str) and typed(value) is value:
        return value
    return json.dumps(value)
