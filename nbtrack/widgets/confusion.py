"""Confusion matrices logged on a run, as a heatmap with a step slider and per-class figures.

``nbtrack.log_confusion_matrix`` stores ``{"t": "confusion", "step", "labels", "matrix"}``
records; this view reads them back (from the store: the active run is flushed first), colours
cells by the row-normalised rate (recall per true class), writes count and rate in each cell,
and lists per-class precision, recall and support beside it.
"""

from __future__ import annotations

import anywidget
import traitlets

from nbtrack.api import StoreLike
from nbtrack.api.views import confusion_views
from nbtrack.capture import colab
from nbtrack.widgets._common import RunSpec, front_end, stored_run, stylesheet


class ConfusionMatrix(anywidget.AnyWidget):
    _esm = front_end("confusion.js")
    _css = stylesheet("widgets.css")
    title = traitlets.Unicode("").tag(sync=True)
    matrices = traitlets.List(traitlets.Dict()).tag(sync=True)
    index = traitlets.Int(0).tag(sync=True)  # which matrix is shown


def show_confusion_matrix(run: RunSpec = None, step: int | None = None, store: StoreLike = None) -> ConfusionMatrix:
    """The confusion matrices of `run` (default: the active run, else the latest run) with a step
    slider when several were logged; opens at `step` (default: the last one logged)."""
    colab.enable_widgets()
    stored = stored_run(run, store)
    views = confusion_views(stored.records_of("confusion"))
    if not views:
        raise LookupError(f"run {stored.id} has no confusion matrix; log one with nbtrack.log_confusion_matrix()")
    index = len(views) - 1
    if step is not None:
        matching = [i for i, v in enumerate(views) if v["step"] == step]
        if not matching:
            steps = ", ".join(str(v["step"]) for v in views)
            raise LookupError(f"run {stored.id} has no confusion matrix at step {step} (steps: {steps})")
        index = matching[-1]
    return ConfusionMatrix(title=stored.name or stored.id, matrices=views, index=index)
