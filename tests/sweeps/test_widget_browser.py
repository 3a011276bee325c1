"""`nbtrack.sweep()` in a real JupyterLab notebook (Debian's Chromium): the progress view appears
under the cell, follows the trials while they run, ends with every trial and the best one, shows
a hostile sweep name as text, and reads well in the light and the dark theme (docs/images)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, JS_NOTEBOOK_IDLE, Browser, LabServer
from tests.ui.lab import HOSTILE, assert_console_clean, shoot, write_notebook
from tests.widgets.lab_pages import JS_ALL_RAN, cell, printed

pytestmark = [
    pytest.mark.ui,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="/usr/bin/chromium is missing"),
]

JS_SAW_RUNNING = """async () => {
  for (let i = 0; i < 1200; i++) {
    const rows = [...document.querySelectorAll('.nbtrack-sweep-trials tbody tr')];
    if (rows.some(r => r.dataset.status === 'running')) return true;
    await new Promise(r => setTimeout(r, 100));
  }
  return false;
}"""


def test_the_sweep_progress_view_follows_the_trials(browser: Browser, lab_server: LabServer) -> None:
    root = Path(lab_server.root)
    write_notebook(root / "sweep-trial.ipynb", ["x = 1", "import time\nimport nbtrack\ntime.sleep(1)\n"
                                                "nbtrack.log(step=0, score=x / 10)"], parameters_cell=0)
    name = f"sweep-{uuid.uuid4().hex[:8]}.ipynb"
    write_notebook(root / name, [
        "import nbtrack\n"
        f"swept = nbtrack.sweep('sweep-trial.ipynb', grid={{'x': [3, 1, 2]}}, workers=2, objective='score:max', "
        f"name={HOSTILE!r}, out='sweep-outputs')",
        "print(swept.status, list(swept.trials['metrics.score']))",
    ])
    page = browser.page
    page.goto(lab_server.page_url(f"lab/tree/{name}?reset"))
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden)", timeout=60_000)
    page.wait_for_function(JS_NOTEBOOK_IDLE, arg=name, timeout=60_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    view = cell(browser, 0).locator(".nbtrack-sweep")
    view.wait_for(timeout=120_000)
    assert page.evaluate(JS_SAW_RUNNING)  # live: a trial shown running while the cell runs
    page.wait_for_function(JS_ALL_RAN, timeout=600_000)
    assert printed(browser, 1).strip() == "finished [0.3, 0.1, 0.2]"
    assert view.locator(".nbtrack-sweep-title").inner_text().endswith(HOSTILE)  # text, never markup
    assert page.locator("[onerror]").count() == 0
    rows = view.locator(".nbtrack-sweep-trials tbody tr")
    assert rows.count() == 3
    assert [rows.nth(i).get_attribute("data-status") for i in range(3)] == ["finished"] * 3
    assert view.locator(".nbtrack-sweep-counts").inner_text().startswith("3 of 3 done")
    assert "best: trial 0 (0.3" in view.locator(".nbtrack-sweep-best").inner_text()
    assert view.locator(".nbtrack-sweep-fill").evaluate("e => e.style.width") == "100%"
    view.scroll_into_view_if_needed()
    shoot(browser, "sweep-progress", dark_checks=[".nbtrack-sweep-trials td"])
    assert_console_clean(browser)
