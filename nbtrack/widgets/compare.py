"""Comparing runs: overlaid metric curves (a static plotly figure), the params table with
differences highlighted, environment differences, and the cell-by-cell diff of two notebooks.

The figure is a plain ``plotly.graph_objects.Figure`` (a few hundred KB of JSON, no
FigureWidget): long series are reduced with the min/max ``envelope`` first. The tables and the
notebook diff are a light anywidget that builds its DOM with ``textContent`` only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from nbtrack.api import Run, StoreLike
from nbtrack.capture import colab
from nbtrack.core.diff import dict_changes
from nbtrack.core.downsample import envelope
from nbtrack.core.series import decode_metrics
from nbtrack.widgets._common import RunSpec, front_end, stored_run
from nbtrack.widgets.notebook_diff import cells_section, environment_section

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]


def plotly_text(text: str) -> str:
    """User text for plotly, which reads labels as pseudo-HTML: entities make it literal."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def run_label(run: Run) -> str:
    return f"{run.name or '(unnamed)'} [{run.id[:8]}]"


def series_of(run: Run) -> dict[str, tuple[list[float], list[float]]]:
    """Every logged point of a run: key -> (steps, values), in logging order."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for record in run.records_of("metrics"):
        keys, steps, _times, columns = decode_metrics(record)
        for key, values in zip(keys, columns):
            xs, ys = out.setdefault(key, ([], []))
            xs.extend(steps)
            ys.extend(values)
    return out


def curves_figure(runs: Sequence[Run], metrics: Sequence[str] | None = None, points: int = 1000) -> Any:
    """One subplot per metric, one coloured line per run (downsampled to ≤ 2·`points`)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    data = [series_of(run) for run in runs]
    keys = list(metrics) if metrics else sorted({k for series in data for k in series})
    if not keys:
        return None
    cols = 1 if len(keys) == 1 else 2
    rows = math.ceil(len(keys) / cols)
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=[plotly_text(k) for k in keys],
                           horizontal_spacing=0.08, vertical_spacing=min(0.12, 0.3 / rows))
    for r, (run, series) in enumerate(zip(runs, data)):
        label = plotly_text(run_label(run))
        for i, key in enumerate(keys):
            if key not in series:
                continue
            xs, ys = envelope(*series[key], points)
            figure.add_trace(
                go.Scattergl(x=xs, y=ys, mode="lines", name=label, legendgroup=run.id,
                             showlegend=i == 0 or all(k not in series for k in keys[:i]),
                             line={"color": COLORS[r % len(COLORS)], "width": 1.5},
                             hovertemplate=f"{label}<br>step %{{x}}<br>{plotly_text(key)} %{{y:.4g}}<extra></extra>"),
                row=i // cols + 1, col=i % cols + 1,
            )
    figure.update_layout(height=280 * rows + 40, margin={"l": 50, "r": 20, "t": 80, "b": 40},
                         legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "yref": "container"},
                         template="plotly_white")
    figure.update_xaxes(title_text="step")
    return figure


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
    _esm = front_end("diff.js")
    _css = front_end("widgets.css")
    data = traitlets.Dict().tag(sync=True)


class Comparison:
    """What ``compare()`` returns: displays the curves figure, then the tables and diffs.
    ``.figure`` (plotly) and ``.data`` (the JSON the view shows) are there for code."""

    def __init__(self, runs: Sequence[Run], metrics: Sequence[str] | None = None) -> None:
        colab.enable_widgets()
        self.runs = list(runs)
        self.figure = curves_figure(self.runs, metrics)
        a, b = self.runs[0], self.runs[1]
        self.data: dict[str, Any] = {
            "runs": [{"id": r.id, "name": r.name, "status": r.status, "user": r.state.user,
                      "label": run_label(r)} for r in self.runs],
            "params": params_section(self.runs),
            "metrics": metrics_section(self.runs),
            "environment": environment_section(a, b),
            "cells": cells_section(a, b),
        }
        self.view = RunDiffView(data=self.data)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self.figure is not None:
            display(self.figure)
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
