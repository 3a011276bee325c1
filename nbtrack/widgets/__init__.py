"""Notebook widgets: live curves, confusion matrices, the run table and run comparison.

Every view is a light anywidget with its front end bundled in the package (no CDN); charts are
drawn by one chart code (``charts.js``, on the vendored uPlot) in JupyterLab's theme. Live views
(curves, table) receive deltas. User text is always rendered as text.
"""

from __future__ import annotations

from nbtrack.widgets.auto import auto_live
from nbtrack.widgets.compare import compare
from nbtrack.widgets.confusion import show_confusion_matrix
from nbtrack.widgets.live import show_live
from nbtrack.widgets.table import table

__all__ = ["auto_live", "compare", "show_confusion_matrix", "show_live", "table"]
