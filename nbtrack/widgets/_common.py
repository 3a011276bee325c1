"""What the widgets share: their bundled front-end code and finding the run to show."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from nbtrack import api
from nbtrack.api import Run, StoreLike, as_store, get_run
from nbtrack.api.rows import page
from nbtrack.core.run import ActiveRun

RunSpec = str | Run | ActiveRun | Mapping[str, Any] | None

_HERE = Path(__file__).resolve().parent


# What every chart view inlines before its own module: uPlot (vendored, see
# scripts/vendor_uplot.py) and the shared chart code; and their styles.
CHARTS = ("vendor/uPlot.iife.min.js", "charts.js")
CHART_STYLES = ("vendor/uPlot.min.css", "widgets.css")


@cache
def front_end(*names: str) -> str:
    """One ES module from the files `names` shipped in this package (no CDN: widgets work
    offline), after the shared DOM helpers of dom.js (`el`, `text`, `SVG`)."""
    return "\n".join(_read(name) for name in ("dom.js", *names))


@cache
def stylesheet(*names: str) -> str:
    """The CSS files `names` of this package as one stylesheet."""
    return "\n".join(_read(name) for name in names)


def _read(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


def stored_run(spec: RunSpec, store: StoreLike = None) -> Run:
    """A stored run from an id (or prefix), a `Run`, an `ActiveRun` (flushed first), or a summary
    row; None means the active run, else the latest run in the store."""
    if isinstance(spec, Run):
        return spec
    if spec is None:
        spec = api.active_run()
        if spec is None:
            return latest_run(store)
    if isinstance(spec, ActiveRun):
        spec.flush()
        return get_run(spec.id, spec.store if store is None else store)  # type: ignore[arg-type]
    if isinstance(spec, Mapping):
        spec = str(spec["id"])
    return get_run(str(spec), store)


def latest_run(store: StoreLike = None) -> Run:
    target = as_store(store)
    found = page(target, sort="start", desc=True, limit=1).rows
    if not found:
        raise LookupError(f"no runs in the store {target.url}")
    return Run(target, found[0].id)
