"""Comparing runs: overlaid metric curves, the params table with differences marked, metric
summaries, environment differences, and the cell-by-cell diff of two notebooks.

One light anywidget shows it all, on the same chart code as the live curves (uPlot: hover
values, a legend naming the runs, zoom, the notebook's theme). What it shows is shaped in
``nbtrack.api.views.comparison`` (long series drawn from the min/max envelope the store keeps
for them, at the width the view draws, so a comparison of long runs stays a few hundred KB);
the shared report shows the same. The view builds its DOM with ``textContent`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from nbtrack.api import Run, StoreLike
from nbtrack.api.views import comparison, curves_section
from nbtrack.capture import colab
from nbtrack.widgets._common import CHART_STYLES, CHARTS, RunSpec, front_end, stored_run, stylesheet

CHART_POINTS = 1000  # the curves' buckets until the view says how wide it is
MIN_POINTS, MAX_POINTS = 100, 8000


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
        self.metrics = metrics
        self.points = CHART_POINTS
        self.data: dict[str, Any] = comparison(self.runs, metrics, CHART_POINTS)
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
