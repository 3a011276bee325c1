"""What the run views show, as JSON: metric curves (downsampled), params and metric tables with
differences marked, confusion matrices, and the comparison of several runs.

Pure shaping over the read API (no widgets, no IPython): the notebook widgets (``compare``,
``show_confusion_matrix``, ``show_live``) and the shared HTML report (``nbtrack.report``) show
the same data from here. Long series are drawn from their min/max envelope (``Run.curves``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nbtrack.api.curves import envelope
from nbtrack.api.notebook_diff import cells_section, environment_section
from nbtrack.api.read import Run
from nbtrack.core.confusion import class_metrics, row_rates
from nbtrack.core.diff import dict_changes
from nbtrack.core.series import decode_metrics

MetricsSpec = str | Sequence[str | Sequence[str]] | Mapping[str, Sequence[str]] | None

_SPLIT_PREFIX = re.compile(r"^(train|training|val|valid|validation|test|eval|dev)[_\-.]", re.IGNORECASE)


def group_name(key: str) -> str:
    """The chart a metric goes on: its last path part without a split prefix, so ``loss``,
    ``train/loss``, ``val_loss`` and ``eval.loss`` share the chart ``loss``."""
    leaf = re.split(r"[/]", key)[-1]
    return _SPLIT_PREFIX.sub("", leaf) or leaf


def metric_groups(keys: Iterable[str], metrics: MetricsSpec = None) -> list[dict[str, Any]]:
    """Charts as ``[{"title", "keys"}]``. `metrics`: None (every key, grouped by `group_name`),
    a key, a list of keys and/or lists of keys (each list one chart), or {title: [keys]}."""
    keys = list(keys)
    if metrics is None:
        groups: dict[str, list[str]] = {}
        for key in keys:
            groups.setdefault(group_name(key), []).append(key)
        return [{"title": title, "keys": members} for title, members in groups.items()]
    if isinstance(metrics, str):
        metrics = [metrics]
    if isinstance(metrics, Mapping):
        return [{"title": str(t), "keys": [str(k) for k in ks]} for t, ks in metrics.items()]
    charts = []
    for item in metrics:
        members = [item] if isinstance(item, str) else [str(k) for k in item]
        charts.append({"title": " · ".join(members) if len(members) > 1 else members[0], "keys": members})
    return charts


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


def curves_section(runs: Sequence[Run], metrics: Sequence[str] | None = None, points: int = 1000,
                   series: Sequence[Mapping[str, tuple[list[float], list[float]]]] | None = None) -> dict[str, Any]:
    """One chart per metric with one line per run (the run's index in `runs`): the run's min/max
    envelope `points` buckets wide (``Run.curves``: the envelope a long run stored when it finished),
    so a line has at most ``2 * points`` points; `count` is how many points the run logged.
    `series`: the runs' ``series_of`` when already read (reduced here)."""
    if series is not None:
        data = [{key: envelope(np.asarray(xs, dtype=float), np.zeros(len(ys)), np.asarray(ys, dtype=float), points)
                 for key, (xs, ys) in one.items()} for one in series]
    else:
        data = [run.curves(points, metrics) for run in runs]
    keys = list(metrics) if metrics else sorted({k for one in data for k in one})
    charts = []
    for key in keys:
        lines = []
        for index, one in enumerate(data):
            curve = one.get(key)
            if curve is None:
                continue
            lines.append({"run": index, "step": [int(x) if x.is_integer() else x for x in curve.step],
                          "value": list(curve.value), "count": curve.count + curve.skipped})
        charts.append({"key": key, "lines": lines})
    return {"charts": charts}


def display_value(value: Any) -> str:
    """A param as one line of text (JSON for anything but text)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)


def params_section(runs: Sequence[Run], params: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Every param of every run; a row is marked when the runs disagree (or one lacks it).
    `params`: the runs' params as shown (default: as stored)."""
    shown = [dict(p) for p in params] if params is not None else [run.params for run in runs]
    keys = sorted({k for p in shown for k in p})
    changed_keys = {c.key for i in range(1, len(shown)) for c in dict_changes(shown[0], shown[i])}
    return {
        "rows": [{"key": k, "values": [display_value(p.get(k)) for p in shown], "changed": k in changed_keys}
                 for k in keys]
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


def comparison(runs: Sequence[Run], metrics: Sequence[str] | None = None, points: int = 1000,
               params: Sequence[Mapping[str, Any]] | None = None,
               series: Sequence[Mapping[str, tuple[list[float], list[float]]]] | None = None) -> dict[str, Any]:
    """What the comparison view shows: the runs, their curves overlaid, params and metrics side by
    side, and for the first two runs their environment differences and cell-by-cell diff
    (`params` and `series`: the runs' as shown, when the caller has them already)."""
    a, b = runs[0], runs[1]
    return {
        "runs": [{"id": r.id, "name": r.name, "status": r.status, "user": r.state.user, "label": run_label(r)}
                 for r in runs],
        "curves": curves_section(runs, metrics, points, series),
        "params": params_section(runs, params),
        "metrics": metrics_section(runs),
        "environment": environment_section(a, b),
        "cells": cells_section(a, b),
    }


def confusion_views(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the confusion matrix view shows for each logged matrix, in logging order."""
    views = []
    for record in records:
        matrix = [[int(v) for v in row] for row in record.get("matrix") or []]
        total = sum(map(sum, matrix))
        hits = sum(matrix[i][i] for i in range(len(matrix)))
        views.append({
            "step": record.get("step"),
            "labels": [str(label) for label in record.get("labels") or []],
            "matrix": matrix,
            "rates": row_rates(matrix),
            "classes": class_metrics(matrix),
            "total": total,
            "accuracy": hits / total if total else None,
        })
    return views
