"""Differences between two runs: params, metric summaries (and, from capture, environment and cells)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from nbtrack.core.records import RunState

MISSING = object()


@dataclass
class Change:
    key: str
    a: Any
    b: Any

    @property
    def kind(self) -> str:
        if self.a is MISSING:
            return "added"
        if self.b is MISSING:
            return "removed"
        return "changed"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind,
                "a": None if self.a is MISSING else self.a, "b": None if self.b is MISSING else self.b}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b) and type(a) is type(b)


def dict_changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Keys added, removed or changed from `a` to `b`, sorted by key."""
    return [
        Change(k, a.get(k, MISSING), b.get(k, MISSING))
        for k in sorted(set(a) | set(b))
        if k not in a or k not in b or not _same(a[k], b[k])
    ]


@dataclass
class RunDiff:
    a: str
    b: str
    params: list[Change]
    metrics: dict[str, dict[str, Any]]  # key -> {"a": {last,min,max}|None, "b": ...}
    sections: dict[str, Any] = field(default_factory=dict)  # "environment", "cells", ... from capture

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "params": [c.as_dict() for c in self.params],
                "metrics": self.metrics, **self.sections}


def diff_states(a: RunState, b: RunState) -> RunDiff:
    metrics = {}
    for key in sorted(set(a.metrics) | set(b.metrics)):
        ma, mb = a.metrics.get(key), b.metrics.get(key)
        metrics[key] = {
            "a": None if ma is None else {"last": ma.last, "min": ma.min, "max": ma.max},
            "b": None if mb is None else {"last": mb.last, "min": mb.min, "max": mb.max},
        }
    return RunDiff(a.id, b.id, dict_changes(a.params, b.params), metrics)
