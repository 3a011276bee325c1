"""The run table and compare in a real JupyterLab 4, driven by Debian's Chromium: sort, filter,
paging, columns that follow the filter, the column chooser, pinned name and id, a run created
by the table's own kernel appearing, a failed refresh shown (and recovered from), selection
readable in the dark theme, Compare with a legend naming the runs, and a hostile run name
shown as text everywhere. Screenshots for the docs in both themes."""

from __future__ import annotations

import os
import re
import uuid

import pytest

from tests.browser import CHROMIUM, Browser, LabServer, set_theme
from tests.widgets.lab_pages import HOSTILE, JS_ALL_RAN, assert_readable, cell, run_notebook, shoot

pytestmark = [
    pytest.mark.ui,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="/usr/bin/chromium is missing"),
]

TABLE = ".nbw-table"


def table_sources(tag: str, other: str) -> list[str]:
    return [
        "import math, time\nimport nbtrack\nnbtrack.auto_live(False)\n"
        f"for i in range(3):  # runs of another sweep, with params of their own\n"
        f"    with nbtrack.start(f'other-{{i}}', tags=[{other!r}], params={{f'old_{{k}}': k for k in range(6)}}):\n"
        "        nbtrack.log(old_metric=i)\n"
        "for i in range(30):\n"
        f"    name = {HOSTILE!r} if i == 7 else f'w-run-{{i:02d}}'\n"
        f"    with nbtrack.start(name, tags=[{tag!r}], params={{'lr': round(0.001 * (i + 1), 4), 'depth': i % 3}}):\n"
        "        for s in range(40):\n"
        "            nbtrack.log(step=s, loss=1 / (1 + s / (4 + i)) + 0.02 * math.sin(s),\n"
        "                        acc=s / 40 * (0.7 + i / 100))\n"
        "        nbtrack.log(test_acc=0.8 + i / 200)",
        f"t = nbtrack.table('tag={tag}', limit=10, refresh_interval=1)\nt",
        "time.sleep(2)  # the table is on the page; now this kernel starts a run of its own\n"
        f"with nbtrack.start('same-kernel-run', tags=[{tag!r}], params={{'lr': 0.5, 'depth': 9}}):\n"
        "    nbtrack.log(loss=0.01, acc=0.99)",
    ]


def rows_text(browser: Browser, column: str) -> list[str]:
    return list(browser.page.eval_on_selector_all(
        f"{TABLE} tbody td[data-column='{column}']", "cells => cells.map(c => c.textContent)"))


def header_columns(browser: Browser) -> list[str]:
    return list(browser.page.eval_on_selector_all(
        f"{TABLE} thead tr.nbw-columns-row th[data-column]", "ths => ths.map(t => t.dataset.column)"))


def wait_rows(browser: Browser, n: int) -> None:
    browser.page.wait_for_function(f"() => document.querySelectorAll('{TABLE} tbody tr').length === {n}",
                                   timeout=30_000)


def wait_first(browser: Browser, column: str, text: str) -> None:
    """Until the first row shows `text` in `column`."""
    browser.page.wait_for_function(
        "([sel, text]) => { const td = document.querySelector(sel); return !!td && td.textContent === text; }",
        arg=[f"{TABLE} tbody td[data-column='{column}']", text], timeout=30_000)


def filter_table(browser: Browser, text: str) -> None:
    box = browser.page.locator(f"{TABLE} .nbw-table-filter")
    box.fill(text)
    box.press("Enter")


def test_run_table_and_compare(browser: Browser, lab_server: LabServer) -> None:
    tag, other = f"wt{uuid.uuid4().hex[:6]}", f"wo{uuid.uuid4().hex[:6]}"
    run_notebook(browser, lab_server, table_sources(tag, other), wide=True)
    page = browser.page
    table = page.locator(TABLE)
    table.wait_for(timeout=90_000)
    page.wait_for_function(JS_ALL_RAN, timeout=90_000)
    # a run this kernel started after the table was shown appears (31 = 30 + it)
    wait_first(browser, "name", "same-kernel-run")  # the newest first
    assert re.fullmatch(r"31 of \d+ runs", table.locator(".nbw-table-count").inner_text())
    assert table.locator(".nbw-page-where").inner_text() == "1–10 of 31"
    # columns come from the runs the filter keeps, grouped run | params | metrics
    assert header_columns(browser) == ["name", "id", "status", "user", "tags", "start", "duration",
                                       "params.depth", "params.lr", "metrics.acc.last", "metrics.loss.last",
                                       "metrics.test_acc.last"]
    assert table.locator("tr.nbw-groups th").all_inner_texts() == ["run", "params", "metrics"]
    # name, user and date in the UI font; only the id in monospace, and never cut off
    fonts = {c: table.locator(f"tbody td[data-column='{c}']").first.evaluate("td => getComputedStyle(td).fontFamily")
             for c in ("name", "user", "start", "id")}
    assert "mono" not in fonts["name"].lower() and fonts["name"] == fonts["user"] == fonts["start"], fonts
    assert "mono" in fonts["id"].lower(), fonts
    ids = table.locator("tbody td[data-column='id']")
    assert ids.first.evaluate("td => td.scrollWidth <= td.clientWidth")
    assert re.fullmatch(r"[0-9a-z]{16}", ids.first.inner_text())
    # the other sweep's params show when the filter keeps its runs, and only then
    filter_table(browser, f"tag={other}")
    wait_rows(browser, 3)
    assert [c for c in header_columns(browser) if c.startswith("params.")] == [f"params.old_{k}" for k in range(6)]
    filter_table(browser, f"tag={tag}")
    wait_rows(browser, 10)
    assert not any(c.startswith("params.old_") for c in header_columns(browser))
    # sort by lr: click once ascending, twice descending; then page
    table.locator("th[data-column='params.lr']").click()
    wait_first(browser, "params.lr", "0.001")
    table.locator("th[data-column='params.lr']").click()
    wait_first(browser, "params.lr", "0.5")
    assert rows_text(browser, "params.lr")[:3] == ["0.5", "0.03", "0.029"]
    table.locator(".nbw-page-next").click()
    wait_first(browser, "params.lr", "0.021")
    assert table.locator(".nbw-page-where").inner_text() == "11–20 of 31"
    # the column chooser hides a column and shows it again
    table.locator(".nbw-table-columns").click()
    table.locator(".nbw-columns-menu input[data-column='params.depth']").uncheck()
    page.wait_for_function(f"() => !document.querySelector(\"{TABLE} th[data-column='params.depth']\")")
    assert table.locator(".nbw-columns-menu input[data-column='name']").is_disabled()
    table.locator(".nbw-columns-menu input[data-column='params.depth']").check()
    page.wait_for_selector(f"{TABLE} th[data-column='params.depth']")
    page.mouse.click(5, 995)  # closes the menu
    # name and id stay in place when the table scrolls sideways
    page.set_viewport_size({"width": 900, "height": 1000})
    scroller = table.locator(".nbw-table-scroll")
    # offsets inside the scroller, so a relayout of the notebook after the resize does not count
    def left(column: str) -> float:
        return scroller.evaluate("(s, c) => s.querySelector(`thead th[data-column='${c}']`).getBoundingClientRect()"
                                 ".left - s.getBoundingClientRect().left", column)

    page.wait_for_function("(s) => s.scrollWidth > s.clientWidth", arg=scroller.element_handle())
    name_x = left("name")
    scroller.evaluate("s => { s.scrollLeft = s.scrollWidth; }")
    page.wait_for_function("(s) => s.scrollLeft > 300", arg=scroller.element_handle())
    assert abs(left("name") - name_x) < 1
    assert left("status") < name_x  # it scrolled under
    scroller.evaluate("s => { s.scrollLeft = 0; }")
    page.set_viewport_size({"width": 1600, "height": 1000})
    # filter: comparisons and text
    filter_table(browser, "depth=1 lr<0.015")
    wait_rows(browser, 5)
    assert sorted(rows_text(browser, "params.depth")) == ["1"] * 5
    assert re.fullmatch(r"5 of \d+ runs", table.locator(".nbw-table-count").inner_text())
    # a refresh that fails says so in the table, and the table recovers
    runs = lab_server.store / "runs"
    before_outage = len(browser.console_errors)
    runs.rename(lab_server.store / "runs.away")
    runs.write_text("the store's folder is gone")
    try:
        page.wait_for_selector(f"{TABLE} .nbw-table-refresh-error:not([hidden])", timeout=20_000)
        assert table.locator(".nbw-table-refresh-error").inner_text().startswith("Could not refresh at ")
        assert len(rows_text(browser, "name")) == 5  # the last good rows stay
    finally:
        runs.unlink()
        (lab_server.store / "runs.away").rename(runs)
    page.wait_for_selector(f"{TABLE} .nbw-table-refresh-error", state="hidden", timeout=20_000)
    # the sidebar's own polls met the same outage (the server answers 500 while the store is
    # gone): those requests, and only those, may have failed during it
    during = browser.console_errors[before_outage:]
    assert all("status of 500" in e for e in during), during
    del browser.console_errors[before_outage:]

    # selection; the hostile name is text (no <img>, no dialog)
    filter_table(browser, f"img tag={tag}")
    wait_rows(browser, 1)
    assert rows_text(browser, "name") == [HOSTILE]
    assert page.locator(f"{TABLE} img, [onerror]").count() == 0
    table.locator(".nbw-row-select").first.check()
    filter_table(browser, f"tag={tag} w-run-2")
    wait_rows(browser, 10)
    table.locator(".nbw-row-select").first.check()
    assert table.locator(".nbw-table-compare").inner_text() == "Compare (2)"
    selected = table.locator("tbody tr.nbw-selected td[data-column='name']").first
    user = table.locator("tbody td[data-column='user']").first
    shoot(browser, "run-table", cell(browser, 1), readable=[selected, user])

    # compare: a legend naming both runs in every chart, params side by side
    table.locator(".nbw-table-compare").click()
    diff = page.locator(".nbw-diff")
    diff.wait_for(timeout=60_000)
    changed = diff.locator(".nbw-diff-params tr.nbw-changed")
    assert sorted(changed.evaluate_all("rows => rows.map(r => r.dataset.key)")) == ["depth", "lr"]
    labels = [r.inner_text() for r in diff.locator(".nbw-diff-runs strong").all()]
    assert len(labels) == 2 and any(label.startswith(HOSTILE) for label in labels)
    charts = diff.locator(".nbw-chart")
    assert [c.get_attribute("data-title") for c in charts.all()] == ["acc", "loss"]
    for chart in charts.all():
        legend = chart.locator(".u-legend tr.u-series .u-label").all_inner_texts()
        assert sorted(legend) == sorted(["step", *labels]), legend  # inside the chart's own box
        assert inside(chart.locator(".u-legend").bounding_box(), chart.bounding_box())
    boxes = [c.bounding_box() for c in charts.all()]
    assert not overlapping(boxes), boxes
    tile = diff.locator('.nbw-tile[data-title="test_acc"]')
    assert tile.locator(".nbw-tile-value").count() == 2  # logged once per run: a tile, not a chart
    assert page.eval_on_selector_all("[onerror], img[src='x']", "els => els.length") == 0
    shoot(browser, "compare-widget", diff,
          readable=[changed.first.locator("td").nth(1), diff.locator(".nbw-chart-title").first])
    # dark theme: the chart canvases sit on a dark card, the changed rows stay readable
    set_theme(browser, dark=True)
    try:
        assert_readable(diff.locator(".nbw-diff-metrics td").nth(1), dark=True)
    finally:
        set_theme(browser, dark=False)
    assert browser.dialogs == []
    assert browser.console_errors == [], browser.console_errors


def overlapping(boxes: list[dict]) -> bool:
    def meet(a: dict, b: dict) -> bool:
        return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
                and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])
    return any(meet(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def inside(inner: dict, outer: dict) -> bool:
    return (inner["x"] >= outer["x"] and inner["y"] >= outer["y"]
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"])
