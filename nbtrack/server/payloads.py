"""The REST API's answers (docs/rest-api.md), built from the query layer. No tornado here:
handlers parse a request, call one of these (in a worker thread) and send what it returns."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nbtrack.api import Run, rows
from nbtrack.api.rows import iso
from nbtrack.core.diff import cell_changes
from nbtrack.core.nbjson import cell_source
from nbtrack.core.paging import page_rows
from nbtrack.core.records import RUNNING
from nbtrack.core.redact import Redactor
from nbtrack.core.reproduce import comparable_outputs
from nbtrack.server.paths import NotFound
from nbtrack.store.store import Store

MAX_PAGE = 1000


def json_ready(value: Any) -> Any:
    """`value` with every non-finite float (NaN, ±inf) as None: browsers' JSON.parse rejects them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def runs_page(
    store: Store,
    filter_text: str | None = None,
    notebook: Callable[[str | None], bool] | None = None,
    sort: str | None = "start",
    desc: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> dict[str, Any]:
    """``GET runs``: one page of run summaries matching a filter (and a notebook)."""
    if not 0 < limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    found = rows(store, filter_text or None)
    if notebook is not None:
        found = [row for row in found if notebook(row.notebook)]
    page, total = page_rows(found, sort, desc, offset, limit, view=lambda row: row.flat)
    return {"total": total, "offset": offset, "runs": [row.to_json() for row in page]}


def run_detail(run: Run) -> dict[str, Any]:
    """``GET runs/ID``: the summary plus notes, artifacts, data, warnings, snapshots, environment."""
    state = run.state
    detail = run.summary()
    detail.update(
        notes=[{"time": iso(n.get("time")), "text": n.get("text", "")} for n in state.notes],
        artifacts=[{k: a.get(k) for k in ("name", "size", "sha256", "kind")} for a in state.artifacts],
        data=[{k: d.get(k) for k in ("path", "sha256", "files", "bytes", "name", "version")} for d in state.data],
        models=[{k: m.get(k) for k in ("name", "version", "ref")} for m in run.models],  # registered from it
        warnings=[{k: w.get(k) for k in ("kind", "message", "cells")} for w in state.warnings],
        snapshots=[{"index": s["index"], "time": iso(s.get("time")), "reason": s.get("reason", "")}
                   for s in state.snapshots],
        environment=_environment(run),
        error=state.error,
        report=state.report,
        cell_count=state.cells,
    )
    return detail


def _environment(run: Run) -> dict[str, Any] | None:
    if not run.state.env:
        return None
    return run.environment()


def metric_series(run: Run, keys: Iterable[str] | None = None) -> dict[str, dict[str, list[float]]]:
    """``GET runs/ID/metrics``: each metric's points in logging order (all metrics when `keys`
    is None; unknown keys are left out)."""
    frame = run.metrics
    wanted = None if keys is None else set(keys)
    series: dict[str, dict[str, list[float]]] = {}
    for key, points in frame.groupby("key", sort=False):
        if wanted is None or key in wanted:
            series[str(key)] = {
                "step": points["step"].tolist(),
                "time": points["time"].tolist(),
                "value": points["value"].tolist(),
            }
    return series


def artifact(run: Run, name: str) -> bytes:
    """``GET runs/ID/artifacts/NAME``: the bytes of the artifact with exactly this name."""
    for entry in reversed(run.artifacts):
        if entry.get("name") == name:
            return run.store.get_blob(entry["sha256"])
    raise NotFound(f"run {run.id} has no artifact {name!r}")


def snapshot_notebook(run: Run, index: int | None) -> dict[str, Any]:
    """``GET runs/ID/notebook``: snapshot `index` (the latest when None) as nbformat v4."""
    count = len(run.state.snapshots)
    if count == 0:
        raise NotFound(f"run {run.id} has no notebook snapshot")
    if index is not None and not 0 <= index < count:
        raise NotFound(f"run {run.id} has snapshots 0 to {count - 1}, not {index}")
    return dict(run.notebook(-1 if index is None else index))


def notebook_diff(run: Run, index: int | None, current: Mapping[str, Any]) -> dict[str, Any]:
    """``GET runs/ID/diff``: the run's snapshot (the latest when `index` is None) against the
    notebook open now, cell by cell in notebook order (``core.diff.cell_changes`` aligns them;
    the cells it does not report are the unchanged ones, paired in order). The current
    notebook's sources are redacted like every snapshot, so a secret neither shows nor counts
    as a change."""
    snapshot = snapshot_notebook(run, index)
    redactor = Redactor.from_environ()
    cells_a = list(snapshot.get("cells") or [])
    cells_b = list(current.get("cells") or [])
    sources_a = [cell_source(c) for c in cells_a]
    sources_b = [redactor.text(cell_source(c), code=True) for c in cells_b]
    changes = cell_changes(sources_a, sources_b)
    touched_a = {c["a"] for c in changes if c["a"] is not None}
    touched_b = {c["b"] for c in changes if c["b"] is not None}
    pairs = [(c["kind"], c["a"], c["b"]) for c in changes]
    pairs += [("same", a, b) for a, b in zip((i for i in range(len(cells_a)) if i not in touched_a),
                                             (j for j in range(len(cells_b)) if j not in touched_b))]
    b_of_a = {a: b for _kind, a, b in pairs if a is not None and b is not None}

    def position(pair: tuple[str, int | None, int | None]) -> tuple[float, int]:
        _kind, a, b = pair
        if b is not None:
            return (float(b), 1)
        before = [b_of_a[i] for i in b_of_a if a is not None and i < a]
        return (max(before) + 0.5 if before else -0.5, 0)

    cells = []
    for kind, a, b in sorted(pairs, key=position):
        cells.append({
            "status": kind, "index_a": a, "index_b": b,
            "source_a": None if a is None else sources_a[a],
            "source_b": None if b is None else sources_b[b],
            "outputs_changed": a is not None and b is not None and _outputs(cells_a[a]) != _outputs(cells_b[b]),
        })
    counts = {kind: sum(1 for c in cells if c["status"] == kind) for kind in ("same", "changed", "added", "removed")}
    chosen = run.state.snapshots[-1 if index is None else index]
    return {"cells": cells, "summary": {**counts, "outputs_changed": sum(1 for c in cells if c["outputs_changed"]),
                                        "snapshot": chosen["index"], "snapshot_time": iso(chosen.get("time"))}}


def _outputs(cell: Mapping[str, Any]) -> list[str]:
    return comparable_outputs(cell.get("outputs") or []) if cell.get("cell_type") == "code" else []


def active(store: Store, kernel_id: str) -> dict[str, Any]:
    """``GET active``: the running run recorded from kernel `kernel_id`, and its latest metrics."""
    running = [row for row in rows(store) if row.kernel_id == kernel_id and row.status == RUNNING]
    if not running:
        return {"run": None, "latest": {}}
    found = max(running, key=lambda row: row.started)
    return {"run": found.to_json(), "latest": {k: m["last"] for k, m in found.metrics.items()}}
