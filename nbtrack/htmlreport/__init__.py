"""Shared reports: runs as one self-contained HTML file that opens anywhere, offline.

``nbtrack.report(*runs, path=...)``, ``nbtrack report RUN ... -o report.html`` and the lab
sidebar's "Export report" all call `report_html`. One run gives its section (header, params,
metric summary and charts, confusion matrices, data, environment, reproducibility warnings,
replay verdicts, notebook snapshot); several runs their comparison first, then each section.
``content`` shapes the data, ``snapshot`` renders notebooks with nbconvert, ``page`` writes the
file. No IPython, widgets or server here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from nbtrack.api import Run, StoreLike, as_store, get_run, rows
from nbtrack.api.rows import FilterSpec
from nbtrack.core.redact import Redactor
from nbtrack.htmlreport.content import report_content
from nbtrack.htmlreport.page import html_page
from nbtrack.htmlreport.snapshot import SnapshotRenderer

__all__ = ["report", "report_html", "select_runs"]


def select_runs(specs: Sequence[str | Run], store: StoreLike = None, filter: FilterSpec = None) -> list[Run]:
    """The runs named (ids, unique prefixes or `Run` objects) then those matching `filter`, each once."""
    target = as_store(store)
    chosen = [spec if isinstance(spec, Run) else get_run(str(spec), target) for spec in specs]
    if filter is not None and filter != "":
        chosen += [Run(target, row.id) for row in rows(target, filter)]
    unique = list({run.id: run for run in chosen}.values())
    if not unique:
        raise ValueError("name the runs to report (ids, prefixes or a filter)")
    return unique


def report_html(runs: Sequence[Run], title: str | None = None) -> str:
    """The report of `runs` as one HTML document."""
    redactor = Redactor.from_environ()
    snapshots = SnapshotRenderer(redactor)
    indexes: list[int | str | None] = []
    for run in runs:
        try:
            indexes.append(snapshots.add(run.notebook(), run.name or run.id) if run.snapshots else None)
        except Exception as exc:  # one notebook nbconvert cannot render costs its view, not the report
            indexes.append(f"the notebook snapshot could not be rendered ({type(exc).__name__}: {exc})")
    return html_page(report_content(runs, indexes, redactor, title), snapshots.head, snapshots.bodies)


def report(*runs: str | Run, path: str | os.PathLike[str] | None = None, store: StoreLike = None,
           filter: FilterSpec = None, title: str | None = None) -> Path:
    """Write the report of `runs` (ids, prefixes or `Run` objects; with `filter`, also every run
    matching it) to `path` (default ``nbtrack-report.html``); returns the path."""
    chosen = select_runs(runs, store, filter)
    target = Path(path if path is not None else "nbtrack-report.html")
    target.write_text(report_html(chosen, title), encoding="utf-8")
    return target
