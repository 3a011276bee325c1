"""The quick start notebook run the way its readers run it: opened in a real JupyterLab,
every cell run from the browser (Debian's Chromium). The widgets render under their cells,
the run appears in the Runs sidebar, and, because JupyterLab sends cell tags and the server
knows the notebook's path, the params and the snapshot come from the notebook itself.
The screenshots it saves to test-artifacts/ illustrate the README."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

import nbtrack
from tests.browser import CHROMIUM, JS_NOTEBOOK_IDLE, Browser, LabServer

pytestmark = [
    pytest.mark.ui,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="/usr/bin/chromium is missing"),
]

EXAMPLES = Path(__file__).resolve().parents[2] / "example_notebooks"
NOTEBOOK = "01_quickstart.ipynb"
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell"


def code_cell(browser: Browser, text: str):  # -> playwright Locator of the code cell containing text
    """Scrolls the cell into view first: JupyterLab renders only the cells near the viewport."""
    nb = nbformat.read(EXAMPLES / NOTEBOOK, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source)
    browser.page.evaluate(
        """async (i) => {
          const notebook = window.jupyterapp.shell.currentWidget.content;
          notebook.activeCellIndex = i;
          await notebook.scrollToItem(i, 'start');
        }""", index)
    return browser.page.locator(CELLS).filter(has_text=text).first


def test_quickstart_in_jupyterlab(browser: Browser, lab_server: LabServer) -> None:
    shutil.copy(EXAMPLES / NOTEBOOK, lab_server.root / NOTEBOOK)
    page = browser.page
    page.goto(lab_server.page_url(f"lab/tree/{NOTEBOOK}?reset"))  # no tabs from other tests
    page.wait_for_selector(".jp-NotebookPanel", timeout=60_000)
    page.wait_for_function(JS_NOTEBOOK_IDLE, arg=NOTEBOOK, timeout=60_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    stop = code_cell(browser, "%nbtrack stop").locator(".jp-OutputArea")
    stop.filter(has_text="finished").wait_for(timeout=180_000)
    store = str(lab_server.store)
    [run_id] = nbtrack.runs("tag=quickstart", store=store)["id"]
    run = nbtrack.get_run(run_id, store)
    assert run.status == "finished"
    assert run.params == {"n_estimators": 60, "max_depth": 12, "seed": 0}  # the tagged cell
    assert run.snapshots[-1]["source"] != "rebuilt"  # read from the notebook file
    assert run.warnings == []

    # the live curves: train_acc and test_acc share the chart "acc", 12 points each
    training = code_cell(browser, "nbtrack.show_live()").locator(".nbw-live")
    training.wait_for(timeout=30_000)
    page.wait_for_function(  # data-drawn: the points each series draws (set when uPlot draws)
        "() => [...document.querySelectorAll('.nbw-live .nbw-chart[data-drawn]')]"
        ".some(c => JSON.parse(c.dataset.drawn).test_acc === 12)", timeout=30_000)
    titles = training.locator(".nbw-chart-title").all_inner_texts()
    assert titles[0] == "acc", titles
    assert page.locator(".nbw-live").count() == 1  # no second, automatic chart
    browser.screenshot("examples-quickstart-live")

    # the confusion matrices: 10 x 10 digits, three steps, the last one shown
    matrix = code_cell(browser, "nbtrack.show_confusion_matrix()").locator(".nbw-cm")
    matrix.wait_for(timeout=30_000)
    assert matrix.locator(".nbw-cm-cell").count() == 100
    assert matrix.locator(".nbw-cm-step").inner_text() == "step 60 (3 of 3)"
    browser.screenshot("examples-quickstart-confusion")

    # the run in the Runs sidebar (runs of this notebook), finished, with its metrics
    tab = '.jp-SideBar .lm-TabBar-tab[data-id="nbtrack-runs"]'
    if not page.locator("#nbtrack-runs").is_visible():
        page.click(tab)
    row = page.locator(f'#nbtrack-runs .nbtrack-run[data-run-id="{run_id}"]')
    row.wait_for(timeout=30_000)
    page.wait_for_function(
        f"() => document.querySelector('.nbtrack-run[data-run-id=\"{run_id}\"]')"
        "?.dataset.status === 'finished'", timeout=30_000)
    browser.screenshot("examples-quickstart-sidebar")
    assert not [e for e in browser.console_errors if e.startswith("pageerror")]
