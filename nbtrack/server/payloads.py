"""The REST API's answers (docs/rest-api.md), built from the query layer. No tornado here:
handlers parse a request, call one of these (in a worker thread) and send what it returns."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nbtrack.api import Run, rows
from nbtrack.api.rows import iso, page
from nbtrack.core.nbjson import cell_source
from nbtrack.core.records import RUNNING
from nbtrack.core.redact import Redactor
from nbtrack.core.snapshot import strip_widgets, upgrade
from nbtrack.server.paths import NotFound
from nbtrack.store.store import Store

MAX_PAGE = 1000


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
    notebooks = None if notebook is None else [n for n in store.index.notebooks() if notebook(n)]
    found = page(store, filter_text or None, sort, desc, offset, limit, notebooks)
    return {"total": found.total, "offset": offset, "runs": [row.to_json() for row in found.rows]}


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


def metric_series(run: Run, keys: Iterable[str] | None = None, points: int | None = None) -> dict[str, dict[str, Any]]:
    """``GET runs/ID/metrics``: each metric's points in logging order (all metrics when `keys`
    is None; unknown keys are left out); with `points`, each metric's min/max envelope for a
    chart that many pixels wide (``Run.curves``: at most two points a pixel, plus ``count`` and
    ``skipped``, the finite and non-finite points logged)."""
    if points is not None:
        return {key: curve.as_json() for key, curve in run.curves(points, keys).items()}
    return {key: {"step": steps.tolist(), "time": times.tolist(), "value": values.tolist()}
            for key, (steps, times, values) in run.columns(keys).items()}


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
    """``GET runs/ID/diff?path=``: the run's snapshot (the latest when `index` is None) against
    the notebook open now. The current notebook is redacted like every snapshot, so a secret
    neither shows nor counts as a change."""
    snapshot = snapshot_notebook(run, index)  # NotFound first
    redactor = Redactor.from_environ()
    now = strip_widgets(upgrade(dict(current)))
    cells = []
    for cell in now.get("cells") or []:
        clean = {**cell, "source": redactor.text(cell_source(cell), code=cell.get("cell_type") == "code")}
        if clean.get("outputs"):
            clean["outputs"] = redactor.value(clean["outputs"])
        cells.append(clean)
    return _diff_payload(_side(run, index), snapshot, None, {**now, "cells": cells})


def runs_diff(run: Run, other: Run, index: int | None) -> dict[str, Any]:
    """``GET runs/ID/diff?against=OTHER``: the run's snapshot against the other run's latest."""
    nb_a, nb_b = snapshot_notebook(run, index), snapshot_notebook(other, None)
    return _diff_payload(_side(run, index), nb_a, _side(other, None), nb_b)


def _side(run: Run, index: int | None) -> dict[str, Any]:
    chosen = run.state.snapshots[-1 if index is None else index]
    return {"run": run.id, "name": run.state.name, "snapshot": chosen["index"], "time": iso(chosen.get("time"))}


DIFF_METADATA = ("kernelspec", "language_info")


def _comparable(nb: Mapping[str, Any]) -> dict[str, Any]:
    """What a person compares in a notebook: each cell's type, source and outputs (no cell ids,
    execution counts or cell metadata, which differ between any two sessions)."""
    cells = []
    for cell in upgrade(dict(nb)).get("cells") or []:
        clean: dict[str, Any] = {
            "cell_type": cell.get("cell_type", "code"),
            "metadata": {},
            "source": cell_source(cell),
        }
        if clean["cell_type"] == "code":
            clean.update(execution_count=None, outputs=[
                {**o, "execution_count": None} if "execution_count" in o else o for o in cell.get("outputs") or []])
        if cell.get("attachments"):
            clean["attachments"] = cell["attachments"]
        cells.append(clean)
    metadata = {k: v for k, v in (nb.get("metadata") or {}).items() if k in DIFF_METADATA}
    import nbformat  # nbdime reads notebooks as NotebookNodes (attribute access)

    return nbformat.from_dict({"nbformat": 4, "nbformat_minor": 4, "metadata": metadata, "cells": cells})


def _diff_payload(a: dict[str, Any], nb_a: Mapping[str, Any], b: dict[str, Any] | None,
                  nb_b: Mapping[str, Any]) -> dict[str, Any]:
    """nbdime's diff of two notebooks (``base`` + ``diff``, what nbdime's diff view renders)
    and counts for a one-line summary."""
    from nbdime import diff_notebooks  # ~1 s to import: only when a diff is asked for

    base, remote = _comparable(nb_a), _comparable(nb_b)
    diff = diff_notebooks(base, remote)
    return {"a": a, "b": b, "base": base, "diff": diff, "summary": diff_summary(diff, len(base["cells"]))}


def diff_summary(diff: list[dict[str, Any]], cells: int) -> dict[str, int]:
    """Counts of an nbdime notebook diff: cells whose source (or type) changed, added, removed,
    cells whose outputs differ, and the unchanged ones."""
    counts = {"changed": 0, "added": 0, "removed": 0, "outputs_changed": 0, "unchanged": cells, "metadata_changed": 0}
    for entry in diff:
        if entry["key"] == "metadata":
            counts["metadata_changed"] = 1
        if entry["key"] != "cells" or entry["op"] != "patch":
            continue
        for op in entry["diff"]:
            if op["op"] == "addrange":
                counts["added"] += len(op["valuelist"])
            elif op["op"] == "removerange":
                counts["removed"] += op["length"]
                counts["unchanged"] -= op["length"]
            elif op["op"] == "patch":
                keys = {e["key"] for e in op["diff"]}
                counts["changed"] += bool(keys - {"outputs"})
                counts["outputs_changed"] += "outputs" in keys
                counts["unchanged"] -= 1
    return counts


REPLAYS_FOLDER = "nbtrack-replays"


def replay_plan(run: Run, root_dir: str) -> dict[str, Any]:
    """``GET runs/ID/replay``: what a replay of the run would do, for a client to show before
    asking: whose code it runs (``warning`` when it is not the current user's), the parameters
    it would override and the folder (server-relative) the executed notebook would go to."""
    from nbtrack.core.identity import user_name
    from nbtrack.replay.runner import owner_warning

    state = run.state
    return {
        "run": run.id, "name": state.name, "owner": state.user, "host": state.host, "start": iso(state.started),
        "notebook": state.notebook, "params": state.params, "snapshots": len(state.snapshots),
        "you": user_name(), "warning": owner_warning(run), "folder": replay_folder(state.notebook, root_dir),
    }


def replay_folder(notebook: str | None, root_dir: str) -> str:
    """`nbtrack-replays/` beside the run's notebook when that lies inside the server root, else
    at the root (server-relative)."""
    root = os.path.realpath(root_dir)
    if notebook:
        folder = os.path.dirname(os.path.realpath(os.path.join(root, notebook)))
        if folder == root or folder.startswith(root + os.sep):
            relative = os.path.relpath(folder, root).replace(os.sep, "/")
            return REPLAYS_FOLDER if relative == "." else f"{relative}/{REPLAYS_FOLDER}"
    return REPLAYS_FOLDER


def active(store: Store, kernel_id: str) -> dict[str, Any]:
    """``GET active``: the running run recorded from kernel `kernel_id`, and its latest metrics."""
    running = [row for row in rows(store, {"status": RUNNING}) if row.kernel_id == kernel_id]
    if not running:
        return {"run": None, "latest": {}}
    found = max(running, key=lambda row: row.started)
    return {"run": found.to_json(), "latest": {k: m["last"] for k, m in found.metrics.items()}}
