"""Differences between two runs: params, metric summaries (and, from capture, environment and cells)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from nbtrack.core.state import RunState

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


# ---- environment and cells (what capture records)
ENV_SCALARS = (("python", "version"), ("python", "executable"), ("python", "implementation"),
               ("platform", "system"), ("platform", "release"), ("platform", "machine"),
               ("cpu_count",), ("memory_bytes",), ("kernel", "name"), ("conda", "name"),
               ("git", "commit"), ("git", "branch"), ("git", "dirty"))


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return MISSING
        data = data[key]
    return data


def environment_changes(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """Differences between two captured environments: packages (added, removed, changed
    version), system (python, platform, hardware, kernel, git), environment variables, GPUs."""
    a, b = a or {}, b or {}
    system = {".".join(p): _dig(a, p) for p in ENV_SCALARS}, {".".join(p): _dig(b, p) for p in ENV_SCALARS}
    gpus = (
        {"gpus": [g.get("name") for g in a.get("gpus") or []]},
        {"gpus": [g.get("name") for g in b.get("gpus") or []]},
    )
    variables = [(_dig(x, ("env_vars", "allowlisted")) or {}) for x in (a, b)]
    return {
        "packages": [c.as_dict() for c in dict_changes(a.get("packages") or {}, b.get("packages") or {})],
        "system": [c.as_dict() for c in dict_changes(*(
            {k: v for k, v in side.items() if v is not MISSING} for side in system)) + dict_changes(*gpus)],
        "env_vars": [c.as_dict() for c in dict_changes(*(v if isinstance(v, dict) else {} for v in variables))],
    }


def cell_changes(a: list[str], b: list[str], context: int = 2) -> list[dict[str, Any]]:
    """Cells added, removed or changed from `a` to `b` (cell sources in notebook order), each
    with its positions and, for changes, a unified diff of the source."""
    import difflib

    found: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = min(a1 - a0, b1 - b0) if tag == "replace" else 0
        for offset in range(pairs):
            lines = difflib.unified_diff(
                a[a0 + offset].splitlines(),
                b[b0 + offset].splitlines(),
                f"a/cell {a0 + offset + 1}",
                f"b/cell {b0 + offset + 1}",
                n=context,
                lineterm="",
            )
            found.append({"kind": "changed", "a": a0 + offset, "b": b0 + offset, "diff": "\n".join(lines)})
        for index in range(a0 + pairs, a1):
            found.append({"kind": "removed", "a": index, "b": None, "source": a[index]})
        for index in range(b0 + pairs, b1):
            found.append({"kind": "added", "a": None, "b": index, "source": b[index]})
    return found
