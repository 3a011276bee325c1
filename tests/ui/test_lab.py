"""The lab extension with a real kernel, driven by Chromium: the notebook toolbar's Start run
button (a named and an unnamed run), the status bar following the run and opening the sidebar
on it, and a clean console from activation on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.ui.lab import (
    ROWS,
    SIDEBAR,
    assert_console_clean,
    open_notebook,
    shoot,
    write_notebook,
)

if TYPE_CHECKING:
    from tests.browser import Browser, LabServer

pytestmark = [pytest.mark.ui, pytest.mark.slow]

TOGGLE = ".jp-NotebookPanel .nbtrack-toggle .jp-ToolbarButtonComponent"
STATUS = ".nbtrack-statusbar"
# "within about 1 s" of a change: the status item polls every second and on every idle kernel
STATUS_WAIT_MS = 3000


def start_run(browser: Browser, name: str) -> None:
    page = browser.page
    page.locator(TOGGLE).click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").wait_for()
    assert dialog.locator(".jp-Dialog-header").inner_text() == "Start a tracked run"
    dialog.locator("input").fill(name)
    dialog.locator(".jp-mod-accept").click()


def test_toolbar_button_starts_named_and_unnamed_runs_and_status_follows(
    browser: Browser, lab_server: LabServer
) -> None:
    write_notebook(lab_server.root / "train.ipynb", [
        "steps = 5",
        "import nbtrack\nfor i in range(steps):\n    nbtrack.log(step=i, loss=1.0 / (i + 1), acc=i / steps)",
        'print("trained", steps)',
    ])
    open_notebook(browser, lab_server, "train.ipynb")
    page = browser.page
    page.wait_for_function("() => window.jupyterapp.isPluginActivated('nbtrack:plugin')")
    assert "log: nbtrack extension activated" in browser.console_logs

    # a real toolbar button: JupyterLab's component, an icon and a label
    toggle = page.locator(TOGGLE)
    assert toggle.locator("svg").count() == 1
    assert toggle.inner_text() == "Start run"
    assert toggle.get_attribute("title").startswith("Start a tracked nbtrack run")

    start_run(browser, "baseline")
    status = page.locator(f"{STATUS} .nbtrack-statusbar-text")
    expect(status).to_have_text("baseline · running", timeout=STATUS_WAIT_MS)
    expect(toggle).to_have_text("Stop run")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".jp-OutputArea-output:has-text('trained 5')", timeout=60_000)
    expect(status).to_contain_text("loss 0.2", timeout=STATUS_WAIT_MS)  # the latest metrics
    assert "acc 0.8" in status.inner_text()
    shoot(browser, "toolbar", dark_checks=[".jp-NotebookPanel-toolbar", STATUS])

    # the status item opens the sidebar on the run
    page.locator(STATUS).click()
    page.wait_for_selector(f"{SIDEBAR}", state="visible")
    selected = page.locator(f'{ROWS}[aria-selected="true"]')
    expect(selected).to_have_count(1)
    expect(selected.locator(".nbtrack-run-name")).to_have_text("baseline")
    assert page.locator(f"{SIDEBAR} .nbtrack-scope-notebook").get_attribute("aria-pressed") == "true"
    run_id = selected.get_attribute("data-run-id")

    # stop: the status clears, the row says finished
    toggle.click()
    expect(status).to_have_text("", timeout=STATUS_WAIT_MS)
    expect(toggle).to_have_text("Start run")
    expect(page.locator(f'{ROWS}[data-run-id="{run_id}"]')).to_have_attribute("data-status", "finished", timeout=10_000)

    # an unnamed run is its short id and its notebook, never a bare id
    start_run(browser, "")
    expect(status).to_contain_text(" · train · running", timeout=STATUS_WAIT_MS)
    unnamed = status.inner_text().split(" · ")[0]
    assert len(unnamed) == 10 and unnamed != run_id[:10]
    expect(page.locator(f"{ROWS} .nbtrack-run-name", has_text=f"{unnamed} · train")).to_have_count(1, timeout=10_000)
    toggle.click()
    expect(status).to_have_text("", timeout=STATUS_WAIT_MS)
    assert_console_clean(browser)
