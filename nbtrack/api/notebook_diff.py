"""Shaping environment and notebook differences of two runs for the comparison views (the compare
widget and the shared report).

The differences come from the pure differs: ``nbtrack.core.diff.environment_changes`` and
``cell_changes`` (which cells were added, removed or edited, by source) and
``nbtrack.core.reproduce.comparable_outputs`` (outputs as comparable text). This module pairs
the cells, adds the output differences of paired cells, and turns everything into rows and
``[op, line]`` lists that the front end shows as text.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from nbtrack.api import Run
from nbtrack.core.diff import cell_changes, environment_changes
from nbtrack.core.reproduce import comparable_outputs

MAX_LINES = 400  # per cell and part; the rest is summarised
Lines = list[list[str]]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def environment_section(a: Run, b: Run) -> dict[str, Any]:
    """Environment entries that differ between `a` and `b`: system, packages, variables."""
    env_a, env_b = a.environment(), b.environment()
    if env_a is None or env_b is None:
        missing = ", ".join(r.name or r.id for r, e in ((a, env_a), (b, env_b)) if e is None)
        return {"available": False, "reason": f"no environment recorded for {missing}"}
    rows = []
    for section, changes in environment_changes(env_a, env_b).items():
        for change in changes:
            rows.append({"key": f"{section}: {change['key']}", "values": [_text(change["a"]), _text(change["b"])],
                         "changed": True, "kind": change["kind"]})
    return {"available": True, "a": a.name or a.id, "b": b.name or b.id, "rows": rows}


def _cap(lines: Lines) -> Lines:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], [" ", f"… {len(lines) - MAX_LINES} more lines"]]


def _all(op: str, text: str) -> Lines:
    return _cap([[op, line] for line in text.splitlines()])


def _unified(diff: str) -> Lines:
    lines: Lines = []
    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append([" ", line])
        else:
            lines.append([line[:1] or " ", line[1:]])
    return _cap(lines)


def _outputs_diff(a: str, b: str) -> Lines:
    if a == b:
        return []
    lines = [[op, text] for op, text in ((line[:1], line[2:]) for line in difflib.ndiff(a.splitlines(), b.splitlines()))
             if op in "+- "]
    return _cap(lines)


def _cells(nb: Any) -> tuple[list[str], list[str]]:
    code = [c for c in nb.cells]
    sources = [str(c.source) for c in code]
    outputs = ["\n".join(comparable_outputs(c.get("outputs") or [])) for c in code]
    return sources, outputs


def notebook_cells_diff(nb_a: Any, nb_b: Any) -> list[dict[str, Any]]:
    """Every cell of two notebooks in `b`'s order (removed cells where they stood): status
    (unchanged, changed, outputs changed, added, removed), source lines and output lines."""
    src_a, out_a = _cells(nb_a)
    src_b, out_b = _cells(nb_b)
    changes = cell_changes(src_a, src_b)
    touched_a = {c["a"] for c in changes if c["a"] is not None}
    touched_b = {c["b"] for c in changes if c["b"] is not None}
    pairs = list(
        zip([i for i in range(len(src_a)) if i not in touched_a], [j for j in range(len(src_b)) if j not in touched_b])
    )
    entries: list[tuple[float, dict[str, Any]]] = []
    for i, j in pairs:
        outputs = _outputs_diff(out_a[i], out_b[j])
        entries.append((j, {"status": "outputs changed" if outputs else "unchanged", "a": i, "b": j,
                            "source": _all(" ", src_b[j]), "outputs": outputs}))
    a_to_b = dict(pairs)
    for change in changes:
        i, j = change["a"], change["b"]
        if change["kind"] == "changed":
            a_to_b[i] = j
            entries.append((j, {"status": "changed", "a": i, "b": j, "source": _unified(change["diff"]),
                                "outputs": _outputs_diff(out_a[i], out_b[j])}))
        elif change["kind"] == "added":
            entries.append((j, {"status": "added", "a": None, "b": j, "source": _all("+", src_b[j]),
                                "outputs": _all("+", out_b[j])}))
    for change in changes:
        if change["kind"] == "removed":
            i = change["a"]
            before = [a_to_b[k] for k in a_to_b if k < i]
            entries.append(((max(before) if before else -1) + 0.5, {
                "status": "removed", "a": i, "b": None, "source": _all("-", src_a[i]), "outputs": _all("-", out_a[i])}))
    cells = [entry for _, entry in sorted(entries, key=lambda e: e[0])]
    for cell in cells:
        where = [
            f"a[{cell['a'] + 1}]" if cell["a"] is not None else "",
            f"b[{cell['b'] + 1}]" if cell["b"] is not None else "",
        ]
        cell["label"] = "cell " + " → ".join(w for w in where if w)
    return cells


def cells_section(a: Run, b: Run) -> dict[str, Any]:
    """The cell-by-cell diff of the last notebook snapshots of `a` and `b`."""
    try:
        nb_a, nb_b = a.notebook(), b.notebook()
    except KeyError as exc:
        return {"available": False, "reason": str(exc).strip("'\"")}
    cells = notebook_cells_diff(nb_a, nb_b)
    counts: dict[str, int] = {}
    for cell in cells:
        counts[cell["status"]] = counts.get(cell["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return {"available": True, "a": a.name or a.id, "b": b.name or b.id, "cells": cells, "summary": summary}
