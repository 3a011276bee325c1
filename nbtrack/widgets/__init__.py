"""Notebook widgets: live curves, confusion matrices, the run table and run comparison.

Live views (curves, table) are light anywidgets with a small bundled front end that receive
deltas; plotly draws the static comparison figures. User text is always rendered as text.
"""

from __future__ import annotations

from nbtrack.widgets.auto import auto_live
from nbtrack.widgets.compare import compare
from nbtrack.widgets.confusion import show_confusion_matrix
from nbtrack.widgets.live import show_live
from nbtrack.widgets.table import table

__all__ = ["auto_live", "compare", "show_confusion_matrix", "show_live", "table"]
