"""The live curves and the confusion matrix in a real JupyterLab 4, driven by Debian's Chromium:
the first point drawn within a second of the first log() (for show_live() and the automatic
chart), the chart growing all through a 3-second loop, hover values, zoom, the controls, a
metric logged once as a value tile, both themes (screenshots for the docs), and the
cell-by-cell notebook diff shown as text."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.browser import CHROMIUM, Browser, LabServer
from tests.widgets.lab_pages import (
    HOSTILE,
    JS_ALL_RAN,
    JS_SERIES_PIXELS,
    assert_readable,
    cell,
    printed,
    run_notebook,
    sample_drawn,
    shoot,
)

pytestmark = [
    pytest.mark.ui,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="/usr/bin/chromium is missing"),
]

# A 3-second loop that logs every few ms, started once the page shows the cell as running;
# it prints when its first log() happened (the browser and the kernel share the clock).
LOOP = (
    "time.sleep(1.5)\n"
    "first_log = time.time()\n"
    "i = 0\n"
    "while time.time() - first_log < 3:\n"
    "    nbtrack.log(step=i, loss=1 / (1 + i / 100) + 0.05 * math.sin(i / 10),\n"
    "                val_loss=1.2 / (1 + i / 100), acc=i / 2000)\n"
    "    i += 1\n"
    "    time.sleep(0.002)\n"
)
LIVE_SOURCES = [
    "import math, time\nimport nbtrack\nrun = nbtrack.start('live-ui', params={'lr': 0.1})\nnbtrack.show_live()",
    LOOP + "nbtrack.log(final_score=0.93)\nnbtrack.finish()\nprint(repr(first_log))",
    "cats = ['cat', 'dog', 'dog', 'bird'] * 10\n"
    "nbtrack.start('cm-ui')\n"
    "nbtrack.log_confusion_matrix(cats, ['cat', 'dog', 'cat', 'bird'] * 10, step=50_000)\n"
    f"nbtrack.log_confusion_matrix(cats, cats, labels=['bird', 'cat', 'dog', {HOSTILE!r}], step=99_999)\n"
    "nbtrack.finish()\n"
    "nbtrack.show_confusion_matrix()",
]


def assert_drawn_live(samples: list[dict], first_log: float, since: float | None = None) -> None:
    """The chart keeps growing: something new is drawn in every second from `since` (default:
    the first log()) to the end of the 3-second loop."""
    start = first_log if since is None else since
    seconds = int(first_log + 3 - start)
    assert seconds >= 1, (start, first_log)
    for second in range(seconds):
        window = [s["drawn"] for s in samples if start + second <= s["t"] / 1000 < start + second + 1]
        assert len(set(window)) >= 2, f"nothing new drawn in second {second + 1} after {start}: {window}"


def first_drawn_delay(samples: list[dict], first_log: float) -> float:
    drawn = [s for s in samples if s["drawn"] > 0]
    assert drawn, samples[-5:]
    return float(drawn[0]["t"] / 1000 - first_log)


def legend_value(chart, label: str) -> str:
    exactly = re.compile(f"^{re.escape(label)}$")
    row = chart.locator(".u-legend tr.u-series").filter(has=chart.page.locator(".u-label", has_text=exactly))
    return str(row.locator(".u-value").first.inner_text())


def test_live_curves_draw_from_the_first_log_and_keep_growing(browser: Browser, lab_server: LabServer) -> None:
    run_notebook(browser, lab_server, LIVE_SOURCES, wide=True)
    page = browser.page
    live = cell(browser, 0).locator(".nbw-live")
    live.wait_for(timeout=60_000)
    samples = sample_drawn(browser, 1, target=0)
    first_log = float(printed(browser, 1))
    delay = first_drawn_delay(samples, first_log)
    assert delay < 1.0, f"first point drawn {delay:.2f} s after the first log()"
    assert_drawn_live(samples, first_log)
    page.wait_for_selector('.nbw-live[data-status="finished"]', timeout=60_000)

    loss = live.locator('.nbw-chart[data-title="loss"]')
    assert [t.inner_text() for t in live.locator(".nbw-chart-title").all()] == ["loss", "acc"]
    assert json.loads(loss.get_attribute("data-series")) == ["loss", "val_loss"]
    drawn = json.loads(loss.get_attribute("data-drawn"))
    assert set(drawn) == {"loss", "val_loss"} and all(100 < n <= 1200 for n in drawn.values()), drawn
    # the canvas really shows both lines (not only a number in an attribute)
    for series in (0, 1):
        assert page.evaluate(JS_SERIES_PIXELS, [loss.element_handle(), series]) > 200
    # a metric logged once is a value tile, not an empty chart
    tile = live.locator('.nbw-tile[data-title="final_score"]')
    assert tile.locator(".nbw-tile-value").inner_text() == "0.93"
    assert live.locator('.nbw-chart[data-title="final_score"]').count() == 0
    assert "live-ui" in live.locator(".nbw-title").inner_text()

    # hover: the legend shows the values under the cursor, then the latest again
    latest = legend_value(loss, "loss")
    box = loss.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.wait_for_function("(c) => c.querySelector('.u-legend tr.u-series .u-value').textContent !== 'latest'",
                           arg=loss.element_handle())
    step = legend_value(loss, "step")
    assert re.fullmatch(r"[\d,]+", step) and 0 < int(step.replace(",", "")) < 2000, step
    assert re.fullmatch(r"-?[\d.]+", legend_value(loss, "loss")) and legend_value(loss, "loss") != latest
    # zoom: drag over a third of the plot, then reset
    loss.evaluate("(c) => { c.dataset.before = JSON.parse(c.dataset.drawn).loss; }")
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 40, steps=5)
    page.mouse.up()
    page.wait_for_function("(c) => JSON.parse(c.dataset.drawn).loss < 0.6 * (+c.dataset.before)",
                           arg=loss.element_handle())
    loss.locator(".nbw-chart-reset").click()
    page.wait_for_function("(c) => JSON.parse(c.dataset.drawn).loss === +c.dataset.before", arg=loss.element_handle())
    page.mouse.move(1, 999)
    page.wait_for_function("(c) => c.querySelector('.u-legend tr.u-series .u-value').textContent === 'latest'",
                           arg=loss.element_handle())
    # the controls redraw: smoothing adds the faint raw lines, log scale, x by time
    live.locator(".nbw-live-smoothing").fill("0.9")
    page.wait_for_function("(c) => JSON.parse(c.dataset.series).includes('loss (raw)')", arg=loss.element_handle())
    live.locator(".nbw-live-log").check()
    live.locator(".nbw-live-x").select_option("time")
    page.wait_for_function("(c) => c.dataset.log === 'true' && c.dataset.xLabel === 'time (s)'",
                           arg=loss.element_handle())
    assert json.loads(loss.get_attribute("data-drawn"))["loss"] > 100
    live.locator(".nbw-live-smoothing").fill("0")
    live.locator(".nbw-live-log").uncheck()
    live.locator(".nbw-live-x").select_option("step")
    page.wait_for_function("(c) => c.dataset.log === 'false' && c.dataset.xLabel === 'step'", arg=loss.element_handle())
    # a grid of charts as wide as the output: side by side here, stacked in a narrow window
    acc = live.locator('.nbw-chart[data-title="acc"]')
    left, right = loss.bounding_box(), acc.bounding_box()
    assert abs(right["y"] - left["y"]) < 1 and right["x"] >= left["x"] + left["width"]
    page.set_viewport_size({"width": 800, "height": 1000})
    page.wait_for_function("([a, b]) => a.getBoundingClientRect().top > b.getBoundingClientRect().bottom",
                           arg=[acc.element_handle(), loss.element_handle()])
    page.wait_for_function("(c) => Math.abs(c.querySelector('canvas').getBoundingClientRect().width"
                           " - c.querySelector('.nbw-chart-plot').getBoundingClientRect().width) < 2",
                           arg=loss.element_handle())
    page.set_viewport_size({"width": 1600, "height": 1000})
    shoot(browser, "live-curves", cell(browser, 0), readable=[loss, tile])

    # the confusion matrix: two steps with a slider, per-class figures, a hostile label as text
    cm = cell(browser, 2).locator(".nbw-cm")
    cm.wait_for(timeout=60_000)
    assert cm.locator(".nbw-cm-cell").count() == 16
    assert cm.locator(".nbw-cm-step").inner_text() == "step 99999 (2 of 2)"
    assert cm.locator(".nbw-cm-metrics tbody tr").count() == 5  # 4 classes + accuracy
    assert cm.locator(".nbw-cm-cell[data-row='2'][data-col='2']").get_attribute("data-count") == "20"
    hostile = cm.locator(".nbw-cm-row-label").nth(3)
    assert hostile.get_attribute("data-label") == HOSTILE and hostile.locator("text").text_content() == HOSTILE
    assert hostile.locator("text").bounding_box()["x"] >= cm.locator(".nbw-cm-svg").bounding_box()["x"]  # not cut
    assert page.locator("[onerror]").count() == 0
    shoot(browser, "confusion-matrix", cell(browser, 2), readable=[cm.locator(".nbw-cm-metrics td").first])
    cm.locator(".nbw-cm-slider").fill("0")
    page.wait_for_function("() => document.querySelector('.nbw-cm-step').textContent.startsWith('step 50000')")
    assert cm.locator(".nbw-cm-cell").count() == 9
    assert cm.locator(".nbw-cm-cell[data-row='2'][data-col='1']").get_attribute("data-count") == "10"
    assert browser.dialogs == []
    assert browser.console_errors == [], browser.console_errors


AUTO_SOURCES = [
    "import math, time\nimport nbtrack\nauto = nbtrack.start('auto-ui')\n"
    + LOOP + "nbtrack.finish()\nprint(repr(first_log))",
]


def test_automatic_chart_draws_from_the_first_log(browser: Browser, lab_server: LabServer) -> None:
    """No show_live(): the chart shows itself under the cell that logs, with points drawn the
    moment it appears, growing all through the loop, the first within a second of the first log()."""
    run_notebook(browser, lab_server, AUTO_SOURCES)
    samples = sample_drawn(browser, 0)
    browser.page.wait_for_function(JS_ALL_RAN, timeout=60_000)
    first_log = float(printed(browser, 0))
    live = cell(browser, 0).locator(".nbw-live")
    assert "auto-ui" in live.locator(".nbw-title").inner_text()
    browser.page.wait_for_selector('.nbw-live[data-status="finished"]', timeout=30_000)
    assert browser.console_errors == [], browser.console_errors
    # the points logged before the chart was displayed come with it (no empty frame)
    appeared = next((s["t"] for s in samples if s["shown"]), None)
    drawn = next((s["t"] for s in samples if s["drawn"]), None)
    assert appeared is not None and drawn is not None, "no chart drew anything while the loop ran"
    assert drawn - appeared < 200, f"the chart was empty for {drawn - appeared} ms"
    assert_drawn_live(samples, first_log, since=appeared / 1000)
    delay = first_drawn_delay(samples, first_log)
    assert delay < 1.0, f"first point drawn {delay:.2f} s after the first log()"


PRINT_HOSTILE = f"print({HOSTILE!r})"
DIFF_SOURCES = [
    "import nbformat\n"
    "from nbtrack.widgets.compare import RunDiffView\n"
    "from nbtrack.api.notebook_diff import notebook_cells_diff\n"
    "def nb(cells):\n"
    "    book = nbformat.v4.new_notebook()\n"
    "    for source, text in cells:\n"
    "        cell = nbformat.v4.new_code_cell(source)\n"
    "        cell.outputs = [nbformat.v4.new_output('stream', name='stdout', text=text)] if text else []\n"
    "        book.cells.append(cell)\n"
    "    return book\n"
    "a = nb([('import x', ''), ('fit(lr=0.1)', 'acc 0.91\\n'), ('old()', '')])\n"
    f"b = nb([('import x', ''), ('fit(lr=0.2)', 'acc 0.93\\n'), ({PRINT_HOSTILE!r}, {HOSTILE + chr(10)!r})])\n"
    "cells = notebook_cells_diff(a, b)\n"
    "RunDiffView(data={'runs': [{'id': 'a', 'label': 'a'}, {'id': 'b', 'label': 'b'}],\n"
    "                  'params': {'rows': [{'key': 'lr', 'values': ['0.1', '0.2'], 'changed': True}]},\n"
    "                  'cells': {'available': True, 'a': 'a', 'b': 'b', 'summary': 'test', 'cells': cells}})",
]


def test_notebook_diff_view_shows_cells_as_text(browser: Browser, lab_server: LabServer) -> None:
    run_notebook(browser, lab_server, DIFF_SOURCES)
    page = browser.page
    diff = page.locator(".nbw-diff")
    diff.wait_for(timeout=60_000)
    statuses = diff.locator(".nbw-cell").evaluate_all("cells => cells.map(c => c.dataset.status)")
    assert statuses == ["changed", "changed"]  # the unchanged first cell is folded
    fit, last = diff.locator(".nbw-cell[data-status='changed']").all()
    assert "- fit(lr=0.1)" in fit.locator("pre.nbw-del").all_text_contents()
    assert "+ fit(lr=0.2)" in fit.locator("pre.nbw-add").all_text_contents()
    assert "+ acc 0.93" in fit.locator("pre.nbw-add").all_text_contents()
    added = last.locator("pre.nbw-add").all_text_contents()
    assert f"+ {PRINT_HOSTILE}" in added and f"+ {HOSTILE}" in added  # source and output, as text
    assert page.locator("[onerror]").count() == 0
    diff.locator(".nbw-diff-all-cells").check()
    page.wait_for_function("() => document.querySelectorAll('.nbw-diff .nbw-cell').length === 3")
    diff.locator(".nbw-diff-only-changed").check()
    assert diff.locator(".nbw-diff-params tr.nbw-changed").count() == 1
    assert_readable(fit.locator("pre.nbw-add").first, dark=False)
    assert browser.dialogs == [] and browser.console_errors == []
