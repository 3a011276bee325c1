"""The widgets in a real JupyterLab 4, driven by Debian's Chromium: live curves updating while
the cell runs, the confusion matrix, the run table (sort, filter, paging, selection, Compare)
and a hostile run name shown as text. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import nbformat
import pytest

from tests.browser import CHROMIUM, Browser, LabServer

pytestmark = [
    pytest.mark.ui,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="/usr/bin/chromium is missing"),
]

HOSTILE = "<img src=x onerror=alert(1)>"
JS_IDLE = """(name) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && w.context.path === name;
}"""
JS_ALL_RAN = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def write_notebook(path: Path, sources: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)


def run_notebook(browser: Browser, server: LabServer, sources: list[str]) -> str:
    name = f"widgets-{uuid.uuid4().hex[:8]}.ipynb"
    write_notebook(Path(server.root) / name, sources)
    page = browser.page
    page.goto(server.page_url(f"lab/tree/{name}?reset"))  # no tabs restored from earlier tests
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden)", timeout=60_000)
    page.wait_for_function(JS_IDLE, arg=name, timeout=60_000)
    # not awaited: the promise settles only when every cell has run
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    return name


def cell_output(browser: Browser, index: int):  # -> playwright Locator
    return (
        browser.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").nth(index).locator(".jp-OutputArea")
    )


JS_SAMPLE_WHILE_RUNNING = """async () => {
  const samples = [];
  const prompts = '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt';
  const prompt = () => document.querySelectorAll(prompts)[1];
  for (let i = 0; i < 300; i++) {
    const running = !!prompt() && prompt().textContent.includes('*');
    const lines = [...document.querySelectorAll('polyline.nbtrack-live-raw[data-key="loss"]')];
    const caption = document.querySelector('.nbtrack-live-caption');
    const points = lines.length ? +lines[0].dataset.points : 0;
    samples.push({ running, points, caption: caption ? caption.textContent : '' });
    if (!running && samples.some(s => s.running)) break;
    await new Promise(r => setTimeout(r, 100));
  }
  return samples;
}"""


def drawn_points(browser: Browser, key: str) -> int:
    return int(
        browser.page.evaluate(
            "() => Math.max(0, ...[...document.querySelectorAll("
            f"'polyline.nbtrack-live-raw[data-key=\"{key}\"]')].map(p => +p.dataset.points))"
        )
    )


LIVE_SOURCES = [
    "import math, time\nimport nbtrack\nrun = nbtrack.start('live-ui', params={'lr': 0.1})\nnbtrack.show_live()",
    "for i in range(100_000):\n"
    "    nbtrack.log(step=i, loss=1 / (1 + i / 1000) + 0.05 * math.sin(i),\n"
    "                val_loss=1.2 / (1 + i / 1000), acc=i / 100_000)\n"
    "    if i % 2000 == 0:\n"
    "        time.sleep(0.15)\n"
    "nbtrack.log_confusion_matrix(['cat', 'dog', 'dog', 'bird'] * 10, ['cat', 'dog', 'cat', 'bird'] * 10,\n"
    "                             step=50_000)\n"
    "nbtrack.log_confusion_matrix(['cat', 'dog', 'dog', 'bird'] * 10, ['cat', 'dog', 'dog', 'bird'] * 10,\n"
    f"                             labels=['bird', 'cat', 'dog', {HOSTILE!r}])\n"
    "nbtrack.finish()",
    "nbtrack.show_confusion_matrix(run.id)",
    "auto = nbtrack.start('auto-ui')\n"
    "for i in range(300):\n    nbtrack.log(loss=1 / (i + 1))\n    time.sleep(0.01)\n"
    "nbtrack.finish()",
]


def test_live_curves_update_while_the_cell_runs(browser: Browser, lab_server: LabServer) -> None:
    run_notebook(browser, lab_server, LIVE_SOURCES)
    page = browser.page
    live = cell_output(browser, 0).locator(".nbtrack-live")
    live.wait_for(timeout=60_000)
    # while cell 2 is still running ([*]), the chart grows: sample it from the page
    samples = page.evaluate(JS_SAMPLE_WHILE_RUNNING)
    growing = [s for s in samples if s["running"] and s["points"] > 0 and "· running ·" in s["caption"]]
    assert len({s["points"] for s in growing}) >= 3, samples  # several updates mid-cell
    browser.screenshot("widgets-live-running")
    page.wait_for_selector('.nbtrack-live[data-status="finished"]', timeout=120_000)
    caption = live.locator(".nbtrack-live-caption").inner_text()
    assert "300,000 points" in caption, caption
    assert [t.inner_text() for t in live.locator(".nbtrack-live-title").all()] == ["loss", "acc"]
    for key in ("loss", "val_loss", "acc"):
        assert 100 < drawn_points(browser, key) <= 2000  # 100,000 points, downsampled
    # the controls redraw in the browser
    live.locator(".nbtrack-live-smoothing").fill("0.9")
    page.wait_for_selector("polyline.nbtrack-live-smooth[data-key='loss']")
    live.locator(".nbtrack-live-log").check()
    live.locator(".nbtrack-live-x").select_option("time")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.nbtrack-live-axes text')].some(t => t.textContent === 'seconds')"
    )
    browser.screenshot("widgets-live-finished")

    # the confusion matrix: two steps with a slider, per-class figures, a hostile label as text
    cm = cell_output(browser, 2).locator(".nbtrack-cm")
    cm.wait_for(timeout=60_000)
    assert cm.locator(".nbtrack-cm-cell").count() == 16
    assert cm.locator(".nbtrack-cm-step").inner_text() == "step 99999 (2 of 2)"
    assert cm.locator(".nbtrack-cm-metrics tbody tr").count() == 5  # 4 classes + accuracy
    assert cm.locator(".nbtrack-cm-cell[data-row='2'][data-col='2']").get_attribute("data-count") == "20"
    assert cm.locator(".nbtrack-cm-row-label").all_text_contents()[3] == HOSTILE
    assert page.locator("[onerror]").count() == 0
    cm.locator(".nbtrack-cm-slider").fill("0")
    page.wait_for_function("() => document.querySelector('.nbtrack-cm-step').textContent.startsWith('step 50000')")
    assert cm.locator(".nbtrack-cm-cell").count() == 9
    assert cm.locator(".nbtrack-cm-cell[data-row='2'][data-col='1']").get_attribute("data-count") == "10"
    browser.screenshot("widgets-confusion")

    # the chart shows itself on the first log() of a run started without show_live()
    auto = cell_output(browser, 3).locator(".nbtrack-live")
    auto.wait_for(timeout=60_000)
    page.wait_for_function(JS_ALL_RAN, timeout=60_000)
    assert "auto-ui" in auto.locator(".nbtrack-live-caption").inner_text()
    assert browser.dialogs == []
    assert browser.console_errors == [], browser.console_errors


def table_sources(tag: str) -> list[str]:
    return [
        "import nbtrack\nnbtrack.auto_live(False)\n"
        f"for i in range(30):\n"
        f"    name = {HOSTILE!r} if i == 7 else f'w-run-{{i:02d}}'\n"
        f"    with nbtrack.start(name, tags=[{tag!r}], params={{'lr': round(0.001 * (i + 1), 4), 'depth': i % 3}}):\n"
        "        for s in range(20):\n"
        "            nbtrack.log(step=s, loss=1 / (s + 1 + i), acc=s / 20)",
        f"t = nbtrack.table('tag={tag}', limit=10)\nt",
    ]


def rows_text(browser: Browser, column: str) -> list[str]:
    return browser.page.eval_on_selector_all(
        f".nbtrack-table tbody td[data-column='{column}']", "cells => cells.map(c => c.textContent)")


def test_run_table_sort_filter_page_compare(browser: Browser, lab_server: LabServer) -> None:
    tag = f"wt{uuid.uuid4().hex[:6]}"
    run_notebook(browser, lab_server, table_sources(tag))
    page = browser.page
    page.wait_for_function("() => document.querySelectorAll('.nbtrack-table tbody tr').length === 10", timeout=90_000)
    table = page.locator(".nbtrack-table")
    # 30 match the filter; the store also holds the other tests' runs
    assert re.fullmatch(r"30 (of \d+ )?runs", table.locator(".nbtrack-table-count").inner_text())
    assert table.locator(".nbtrack-page-where").inner_text() == "1–10 of 30"
    # sort by lr: click once ascending, twice descending
    table.locator("th[data-column='params.lr']").click()
    page.wait_for_function(
        "() => document.querySelector(\".nbtrack-table tbody td[data-column='params.lr']\").textContent === '0.001'"
    )
    table.locator("th[data-column='params.lr']").click()
    page.wait_for_function(
        "() => document.querySelector(\".nbtrack-table tbody td[data-column='params.lr']\").textContent === '0.03'"
    )
    assert rows_text(browser, "params.lr")[:3] == ["0.03", "0.029", "0.028"]
    table.locator(".nbtrack-page-next").click()
    page.wait_for_function(
        "() => document.querySelector(\".nbtrack-table tbody td[data-column='params.lr']\").textContent === '0.02'"
    )
    assert table.locator(".nbtrack-page-where").inner_text() == "11–20 of 30"
    assert len(rows_text(browser, "params.lr")) == 10
    # filter: comparisons and text
    table.locator(".nbtrack-table-filter").fill("depth=1 lr<0.015")
    table.locator(".nbtrack-table-filter").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.nbtrack-table tbody tr').length === 5")
    assert sorted(rows_text(browser, "params.depth")) == ["1"] * 5
    assert re.fullmatch(r"5 of \d+ runs", table.locator(".nbtrack-table-count").inner_text())
    browser.screenshot("widgets-table-filtered")
    # the hostile name is text: no <img> element, no dialog
    table.locator(".nbtrack-table-filter").fill(f"img tag={tag}")  # other tests' hostile runs share the store
    table.locator(".nbtrack-table-filter").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.nbtrack-table tbody tr').length === 1")
    assert rows_text(browser, "name") == [HOSTILE]
    assert page.locator(".nbtrack-table img, [onerror]").count() == 0
    # compare two runs: the hostile one and another
    table.locator(".nbtrack-row-select").first.check()
    table.locator(".nbtrack-table-filter").fill("w-run-03")
    table.locator(".nbtrack-table-filter").press("Enter")
    page.wait_for_function(
        "() => document.querySelector(\".nbtrack-table tbody td[data-column='name']\").textContent === 'w-run-03'"
    )
    table.locator(".nbtrack-row-select").first.check()
    assert table.locator(".nbtrack-table-compare").inner_text() == "Compare (2)"
    table.locator(".nbtrack-table-compare").click()
    diff = page.locator(".nbtrack-diff")
    diff.wait_for(timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    changed = diff.locator(".nbtrack-diff-params tr.nbtrack-changed")
    assert sorted(changed.evaluate_all("rows => rows.map(r => r.dataset.key)")) == ["depth", "lr"]
    headers = diff.locator(".nbtrack-diff-params th").all_inner_texts()
    assert any(h.startswith(HOSTILE) for h in headers)
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert any(HOSTILE in text for text in legend), legend
    injected = page.eval_on_selector_all("[onerror], img[src='x']", "els => els.map(e => e.outerHTML)")
    assert injected == [], injected  # the name never became markup anywhere on the page
    page.wait_for_timeout(500)
    browser.screenshot("widgets-compare")
    assert browser.dialogs == []
    errors = [e for e in browser.console_errors if not re.search(r"favicon", e)]
    assert errors == [], errors


PRINT_HOSTILE = f"print({HOSTILE!r})"
DIFF_SOURCES = [
    "import nbformat\n"
    "from nbtrack.widgets.compare import RunDiffView\n"
    "from nbtrack.widgets.notebook_diff import notebook_cells_diff\n"
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
    diff = page.locator(".nbtrack-diff")
    diff.wait_for(timeout=60_000)
    statuses = diff.locator(".nbtrack-cell").evaluate_all("cells => cells.map(c => c.dataset.status)")
    assert statuses == ["changed", "changed"]  # the unchanged first cell is folded
    fit, last = diff.locator(".nbtrack-cell[data-status='changed']").all()
    assert "- fit(lr=0.1)" in fit.locator("pre.nbtrack-del").all_text_contents()
    assert "+ fit(lr=0.2)" in fit.locator("pre.nbtrack-add").all_text_contents()
    assert "+ acc 0.93" in fit.locator("pre.nbtrack-add").all_text_contents()
    added = last.locator("pre.nbtrack-add").all_text_contents()
    assert f"+ {PRINT_HOSTILE}" in added and f"+ {HOSTILE}" in added  # source and output, as text
    assert page.locator("[onerror]").count() == 0
    diff.locator(".nbtrack-diff-all-cells").check()
    page.wait_for_function("() => document.querySelectorAll('.nbtrack-diff .nbtrack-cell').length === 3")
    diff.locator(".nbtrack-diff-only-changed").check()
    assert diff.locator(".nbtrack-diff-params tr.nbtrack-changed").count() == 1
    browser.screenshot("widgets-notebook-diff")
    assert browser.dialogs == [] and browser.console_errors == []
