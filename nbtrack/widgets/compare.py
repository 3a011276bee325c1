"""Comparing runs: overlaid metric curves, the params table with differences marked, metric
summaries, environment differences, and the cell-by-cell diff of two notebooks.

One light anywidget shows it all, on the same chart code as the live curves (uPlot: hover
values, a legend naming the runs, zoom, the notebook's theme). Long series are reduced with
the min/max envelope the store keeps for them (``Run.curves``), so a comparison of long runs
reads and sends a few hundred KB. The view
builds its DOM with ``textContent`` only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from nbtrack.api import Run, StoreLike
from nbtrack.capture import colab
from nbtrack.core.diff import dict_changes
from nbtrack.widgets._common import CHART_STYLES, CHARTS, RunSpec, front_end, stored_run, stylesheet
from nbtrack.widgets.notebook_diff import cells_section, environment_section

CHART_POINTS = 1000  # the curves' buckets until the view says how wide it is
MIN_POINTS, MAX_POINTS = 100, 8000


def run_label(run: Run) -> str:
    return f"{run.name or '(unnamed)'} [{run.id[:8]}]"


def curves_section(runs: Sequence[Run], metrics: Sequence[str] | None = None, points: int = CHART_POINTS
                   ) -> dict[str, Any]:
    """One chart per metric with one line per run (the run's index in `runs`): the run's min/max
    envelope `points` buckets wide (``Run.curves``: stored when a long run finished), so a line
    has at most ``2 * points`` points whatever the run logged; `count` is how many it logged."""
    data = [run.curves(points, metrics) for run in runs]
    keys = list(metrics) if metrics else sorted({k for curves in data for k in curves})
    charts = []
    for key in keys:
        lines = []
        for index, curves in enumerate(data):
            curve = curves.get(key)
            if curve is None:
                continue
            lines.append({"run": index, "step": [int(x) if x.is_integer() else x for x in curve.step],
                          "value": list(curve.value), "count": curve.count + curve.skipped})
        charts.append({"key": key, "lines": lines})
    return {"charts": charts}


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)


def params_section(runs: Sequence[Run]) -> dict[str, Any]:
    """Every param of every run; a row is marked when the runs disagree (or one lacks it)."""
    params = [run.params for run in runs]
    keys = sorted({k for p in params for k in p})
    changed_keys = {c.key for i in range(1, len(params)) for c in dict_changes(params[0], params[i])}
    return {
        "rows": [{"key": k, "values": [_display(p.get(k)) for p in params], "changed": k in changed_keys} for k in keys]
    }


def metrics_section(runs: Sequence[Run]) -> dict[str, Any]:
    """Last / min / max of each metric per run."""
    states = [run.state.metrics for run in runs]
    keys = sorted({k for s in states for k in s})
    rows = []
    for key in keys:
        cells = []
        for s in states:
            m = s.get(key)
            cells.append("" if m is None else f"{m.last:.4g} (min {m.min:.4g}, max {m.max:.4g})")
        rows.append({"key": key, "values": cells, "changed": len(set(cells)) > 1})
    return {"rows": rows}


class RunDiffView(anywidget.AnyWidget):
    _esm = front_end(*CHARTS, "compare.js")
    _css = stylesheet(*CHART_STYLES)
    data = traitlets.Dict().tag(sync=True)


class Comparison:
    """What ``compare()`` returns: displays the comparison view; ``.data`` (the JSON the view
    shows) and ``.runs`` are there for code."""

    def __init__(self, runs: Sequence[Run], metrics: Sequence[str] | None = None) -> None:
        colab.enable_widgets()
        self.runs = list(runs)
        a, b = self.runs[0], self.runs[1]
        self.data: dict[str, Any] = {
            "runs": [{"id": r.id, "name": r.name, "status": r.status, "user": r.state.user,
                      "label": run_label(r)} for r in self.runs],
            "curves": curves_section(self.runs, metrics),
            "params": params_section(self.runs),
            "metrics": metrics_section(self.runs),
            "environment": environment_section(a, b),
            "cells": cells_section(a, b),
        }
        self.metrics = metrics
        self.points = CHART_POINTS
        self.view = RunDiffView(data=self.data)
        self.view.on_msg(self._on_front_end_message)

    def _on_front_end_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """The view says how wide its charts are (device pixels): curves at that resolution."""
        if not isinstance(content, dict) or content.get("type") != "width" or "curves" not in self.data:
            return
        width = content.get("px")
        if not isinstance(width, int) or isinstance(width, bool):
            return
        width = max(MIN_POINTS, min(width, MAX_POINTS))
        if abs(width - self.points) * 10 <= self.points:  # within 10%: what is shown will do
            return
        self.points = width
        self.data = {**self.data, "curves": curves_section(self.runs, self.metrics, width)}
        self.view.data = self.data

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.view)

    def __repr__(self) -> str:
        return f"<nbtrack comparison of {', '.join(r.id for r in self.runs)}>"


def compare(*runs: RunSpec, store: StoreLike = None, metrics: Sequence[str] | None = None) -> Comparison:
    """Compare two or more runs (ids, id prefixes, ``Run`` objects or the active run): curves
    overlaid per metric, params with differences highlighted, and for the first two runs the
    environment differences and the cell-by-cell diff of their notebooks."""
    if len(runs) == 1 and isinstance(runs[0], (list, tuple)):
        runs = tuple(runs[0])
    if len(runs) < 2:
        raise ValueError("compare() needs at least two runs")
    return Comparison([stored_run(r, store) for r in runs], metrics)
