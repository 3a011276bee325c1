"""What the widgets ship: the vendored uPlot is the one scripts/vendor_uplot.py recorded, and
every view's module and stylesheet is self-contained (no CDN, nothing fetched)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from nbtrack.widgets.compare import RunDiffView
from nbtrack.widgets.confusion import ConfusionMatrix
from nbtrack.widgets.live import LiveCurves
from nbtrack.widgets.table import RunGrid

VENDOR = Path(__file__).resolve().parents[2] / "nbtrack" / "widgets" / "vendor"
VIEWS = [LiveCurves, RunDiffView, ConfusionMatrix, RunGrid]


def test_vendored_uplot_is_what_the_script_recorded() -> None:
    record = json.loads((VENDOR / "uplot.json").read_text())
    assert record["package"] == "uplot" and record["license"] == "MIT"
    for name, sha in record["sha256"].items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha, name
    header = (VENDOR / "uPlot.iife.min.js").read_text()[:100]
    assert f"(v{record['version']})" in header
    assert "MIT" in (VENDOR / "uPlot.LICENSE").read_text()


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_views_fetch_nothing(view: type) -> None:
    esm, css = view._esm, view._css
    # no import or fetch; the only addresses are the SVG namespace and uPlot's own credit line
    fetching = r"""\bimport\s*(\(|["'{*\w])|\bfetch\(|https?://(?!www\.w3\.org/|github\.com/leeoniya/uPlot)"""
    assert not re.search(fetching, esm)
    assert "export default" in esm and "function el(" in esm  # one module, the DOM helpers first
    assert "@import" not in css and "url(" not in css
    assert "function el(" not in css  # a stylesheet, not script text


def test_chart_views_inline_uplot() -> None:
    for view in (LiveCurves, RunDiffView):
        esm = view._esm
        assert esm.count("var uPlot=function()") == 1 and "function lineChart(" in esm
