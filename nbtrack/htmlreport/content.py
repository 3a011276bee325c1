"""What a shared report shows, as one JSON document: each run's section (header, params, metric
summary and curves, confusion matrices, data, environment, reproducibility warnings, replay
verdicts, notebook snapshot) and, for several runs, their comparison.

The data comes from the read API and is shaped by ``nbtrack.api.views``, the same shaping the
notebook widgets show. Secrets stay redacted: the store keeps them masked already, and the
report masks again (params by their names, every text by the redactor) with this process's
environment known, so a value logged without redaction does not leave in a shared file.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from nbtrack.api import Run, rows
from nbtrack.api.rows import iso
from nbtrack.api.views import comparison, confusion_views, curves_section, metric_groups, series_of
from nbtrack.core.redact import Redactor
from nbtrack.core.reproduce import Report

POINTS = 600  # buckets per drawn line (at most 2 points each: a chart's width in pixels)
KEY_PACKAGES = (
    "numpy", "pandas", "scipy", "scikit-learn", "torch", "torchvision", "tensorflow", "keras", "jax", "jaxlib",
    "xgboost", "lightgbm", "catboost", "transformers", "datasets", "lightning", "pytorch-lightning", "matplotlib",
    "polars", "pyarrow", "statsmodels", "optuna", "nbtrack", "ipykernel", "jupyterlab", "papermill",
)
MAX_DIFFERENCES = 5  # per replayed cell


def run_header(run: Run, redactor: Redactor) -> dict[str, Any]:
    state, row = run.state, run.row()
    return {
        "id": run.id, "name": redactor.text(run.name), "status": row.status, "user": state.user,
        "host": state.host, "start": iso(state.started), "end": iso(state.ended), "duration": row.duration,
        "tags": list(state.tags), "notes": [{"time": iso(n.get("time")), "text": redactor.text(str(n.get("text", "")))}
                                            for n in state.notes],
        "notebook": state.notebook, "replay_of": state.replay_of, "error": state.error,
    }


def metric_summary(run: Run) -> list[dict[str, Any]]:
    return [{"key": key, "last": m.last, "min": m.min, "max": m.max, "step": m.step, "count": m.count}
            for key, m in sorted(run.state.metrics.items())]


def environment_summary(run: Run) -> dict[str, Any] | None:
    """Python, platform, hardware, key packages and git state (commit, branch, dirty tree)."""
    env = run.environment()
    if env is None:
        return None
    packages = env.get("packages") or {}
    wanted = {name.lower() for name in KEY_PACKAGES}
    git = env.get("git") or None
    return {
        "python": (env.get("python") or {}).get("version"),
        "implementation": (env.get("python") or {}).get("implementation"),
        "platform": (env.get("platform") or {}).get("platform"),
        "cpu_count": env.get("cpu_count"),
        "memory_bytes": env.get("memory_bytes"),
        "gpus": [g.get("name") for g in env.get("gpus") or []],
        "kernel": (env.get("kernel") or {}).get("name"),
        "conda": (env.get("conda") or {}).get("name"),
        "packages": {k: v for k, v in sorted(packages.items()) if k.lower() in wanted},
        "package_count": len(packages),
        "git": None if not git else {k: git.get(k) for k in ("commit", "branch", "dirty", "remote")},
    }


def replay_verdict(run: Run, role: str) -> dict[str, Any] | None:
    """A replay's verdict and its causes: cells that differ (with their differences), metrics,
    the error, environment and data differences."""
    summary = run.state.report
    if not summary or not summary.get("sha256"):
        return None
    try:
        report = Report.from_dict(run.store.get_json(summary["sha256"]))
    except (OSError, KeyError, ValueError):
        return {"role": role, "replay": run.id, "name": run.name, "verdict": summary.get("verdict"), "causes": [],
                "error": "the report could not be read"}
    cells = [{"index": c.index, "execution_count": c.execution_count, "status": c.status,
              "source": c.source.strip().splitlines()[0][:120] if c.source.strip() else "",
              "differences": c.differences[:MAX_DIFFERENCES]}
             for c in report.cells if c.status not in ("identical", "no original")]
    return {
        "role": role, "replay": report.replay or run.id, "original": report.original, "name": run.name,
        "verdict": report.verdict, "error": report.error, "order": report.order, "tolerance": report.tolerance,
        "parameters": report.parameters, "cells": cells,
        "identical": sum(1 for c in report.cells if c.status == "identical"),
        "metrics": [m for m in report.metrics if m.get("status") not in ("identical", "same")],
        "environment": report.environment[:50], "environment_count": len(report.environment),
        "data": report.data,
    }


def replays(run: Run) -> list[dict[str, Any]]:
    """The run's own verdict when it is a replay, and the verdicts of its replays in the store."""
    found = []
    own = replay_verdict(run, "this run replays " + (run.state.replay_of or "another run"))
    if own is not None:
        found.append(own)
    for row in rows(run.store, lambda flat: flat.get("replay_of") == run.id):
        verdict = replay_verdict(Run(run.store, row.id), "replay of this run")
        if verdict is not None:
            found.append(verdict)
    return found


def run_section(run: Run, redactor: Redactor, params: dict[str, Any],
                series: dict[str, tuple[list[float], list[float]]], snapshot: int | str | None) -> dict[str, Any]:
    """Everything one run's section shows; `snapshot` is the index of its rendered notebook (or
    why it could not be rendered)."""
    state = run.state
    curves = curves_section([run], points=POINTS, series=[series])["charts"]
    return {
        **run_header(run, redactor),
        "params": [{"key": k, "value": v} for k, v in sorted(params.items())],
        "metrics": metric_summary(run),
        "groups": metric_groups(sorted(series)),
        # `reduced`: drawn from the min/max of buckets (non-finite points are skipped, not reduced)
        "curves": {chart["key"]: {**chart["lines"][0], "reduced": chart["lines"][0]["count"] > 2 * POINTS}
                   for chart in curves if chart["lines"]},
        "confusion": confusion_views(run.records_of("confusion")),
        "data": [{k: d.get(k) for k in ("path", "sha256", "files", "bytes")} | {"time": iso(d.get("time"))}
                 | {"version": f"{d['name']}@{d['version']}" if d.get("name") else None} for d in state.data],
        "models": [f"{m['name']}@{m['version']}" for m in state.models],
        "artifacts": [{k: a.get(k) for k in ("name", "size", "sha256", "kind")} for a in state.artifacts],
        "environment": environment_summary(run),
        "warnings": [{k: w.get(k) for k in ("kind", "message", "cells")} for w in state.warnings],
        "replays": replays(run),
        "snapshot": snapshot if isinstance(snapshot, int) else None,
        "snapshot_problem": snapshot if isinstance(snapshot, str) else None,
        "snapshot_count": len(state.snapshots),
    }


def report_content(runs: Sequence[Run], snapshots: Sequence[int | str | None], redactor: Redactor | None = None,
                   title: str | None = None) -> dict[str, Any]:
    """The report's JSON (before escaping for the page): runs in the order given."""
    redactor = redactor or Redactor.from_environ()
    params = [redactor.mapping(run.params) for run in runs]
    series = [series_of(run) for run in runs]
    sections = [run_section(run, redactor, p, s, snap) for run, p, s, snap in zip(runs, params, series, snapshots)]
    names = [section["name"] or section["id"] for section in sections]
    content: dict[str, Any] = {
        "title": title or ("Run " + names[0] if len(runs) == 1 else f"{len(runs)} runs: " + ", ".join(names[:4])
                           + (", …" if len(names) > 4 else "")),
        "generated": iso(time.time()),
        "runs": sections,
        "comparison": comparison(runs, points=POINTS, params=params, series=series) if len(runs) > 1 else None,
    }
    # everything stored is redacted already; this pass masks what a writer logged unredacted
    # (text a secret value of this process's environment, or shaped like a token)
    return redactor.value(content)
