"""The nbtrack lab extension in a real JupyterLab, driven by Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

import nbtrack

if TYPE_CHECKING:
    from tests.browser import Browser, LabServer

pytestmark = [pytest.mark.ui, pytest.mark.slow]

HOSTILE = "<img src=x onerror=alert(1)>"
VERDICTS = {"reproduced", "reproduced within tolerance", "differs", "failed"}
SIDEBAR_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="nbtrack-runs"]'

JS_KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""


def write_notebook(path: Path, sources: list[str], parameters_cell: int | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        if i == parameters_cell:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def open_lab(browser: Browser, server: LabServer, path: str = "lab") -> None:
    page = browser.page
    page.goto(server.page_url(f"{path}?reset"))  # no tabs restored from other tests' sessions
    page.wait_for_selector(SIDEBAR_TAB, timeout=60_000)


def open_sidebar(browser: Browser) -> None:
    page = browser.page
    if not page.locator("#nbtrack-runs").is_visible():
        page.click(SIDEBAR_TAB)
    page.wait_for_selector("#nbtrack-runs", state="visible")


def open_notebook(browser: Browser, server: LabServer, name: str) -> None:
    open_lab(browser, server, f"lab/tree/{name}")
    page = browser.page
    page.wait_for_selector(".jp-NotebookPanel .nbtrack-toggle")
    page.wait_for_function(JS_KERNEL_IDLE, timeout=60_000)


def test_plugin_activates_without_console_errors(browser: Browser, lab_server: LabServer) -> None:
    open_lab(browser, lab_server)
    page = browser.page
    page.wait_for_function("() => window.jupyterapp.isPluginActivated('nbtrack:plugin')")
    open_sidebar(browser)
    assert page.locator("#nbtrack-runs .nbtrack-runs-title").inner_text() == "nbtrack runs"
    # every palette command is registered
    commands = page.evaluate("() => window.jupyterapp.commands.listCommands()")
    for command in (
        "show-runs",
        "refresh-runs",
        "open-snapshot",
        "diff-run",
        "replay-run",
        "start-tracking",
        "stop-tracking",
        "toggle-tracking",
    ):
        assert f"nbtrack:{command}" in commands
    # list every run once (a real request to the server extension), then wait for the sidebar's
    # next poll (its timer's own request) to be answered and drawn
    page.locator("#nbtrack-runs .nbtrack-all-toggle").check()
    page.wait_for_function(
        "() => /run\\(s\\)|No runs yet/.test("
        "document.querySelector('#nbtrack-runs .nbtrack-runs-message').textContent)"
    )
    with page.expect_response(lambda r: "/nbtrack/api/runs" in r.url, timeout=20_000) as polled:
        pass
    assert polled.value.ok
    page.evaluate("() => new Promise(requestAnimationFrame)")  # the answer is handled and drawn
    browser.screenshot("ui-activated")
    assert "log: nbtrack extension activated" in browser.console_logs
    assert browser.console_errors == []


def test_track_snapshot_diff_replay(browser: Browser, lab_server: LabServer) -> None:
    write_notebook(
        lab_server.root / "train.ipynb",
        [
            "steps = 5",
            "import nbtrack",
            "for i in range(steps):\n    nbtrack.log(step=i, loss=1.0 / (i + 1), acc=i / steps)",
            'print("trained", steps)',
        ],
        parameters_cell=0,
    )
    open_notebook(browser, lab_server, "train.ipynb")
    page = browser.page
    toggle = page.locator(".jp-NotebookPanel .nbtrack-toggle")
    assert toggle.inner_text() == "Start tracking"

    # start tracking from the toolbar, then train
    toggle.click()
    page.wait_for_selector('.nbtrack-toggle[data-active="true"]', timeout=30_000)
    assert toggle.inner_text() == "Stop tracking"
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".jp-OutputArea-output:has-text('trained 5')", timeout=60_000)

    # the status bar shows the active run and its latest metrics
    status = page.locator(".nbtrack-statusbar-text")
    page.wait_for_function(
        "() => /loss 0\\.2/.test(document.querySelector('.nbtrack-statusbar-text')?.textContent || '')",
        timeout=20_000,
    )
    assert "running" in status.inner_text()

    # the run appears in the sidebar (runs of this notebook) with its last metrics
    open_sidebar(browser)
    row = page.locator("#nbtrack-runs .nbtrack-run").first
    row.locator('.nbtrack-metric[data-metric="loss"]').wait_for(timeout=20_000)
    page.wait_for_function(
        "() => document.querySelector('#nbtrack-runs .nbtrack-metric[data-metric=\"loss\"]')"
        "?.textContent === 'loss 0.2'",
        timeout=20_000,
    )
    assert row.locator('.nbtrack-metric[data-metric="acc"]').inner_text() == "acc 0.8"
    assert row.locator(".nbtrack-run-user").inner_text() == "ui-tester"
    run_id = row.get_attribute("data-run-id")
    assert run_id
    browser.screenshot("ui-run-running")

    # stop from the toolbar: the run finishes
    toggle.click()
    page.wait_for_selector('.nbtrack-toggle[data-active="false"]', timeout=30_000)
    assert toggle.inner_text() == "Start tracking"
    page.wait_for_function(
        f"() => document.querySelector('.nbtrack-run[data-run-id=\"{run_id}\"] .nbtrack-status')"
        "?.textContent === 'finished'",
        timeout=20_000,
    )
    assert status.inner_text() == ""

    # change the notebook after the run (add a cell) and save it, for the diff
    page.evaluate(
        """async () => {
          const panel = window.jupyterapp.shell.currentWidget;
          const model = panel.content.model;
          model.sharedModel.insertCell(model.cells.length,
            {cell_type: 'code', source: 'print("added after the run")'});
          model.cells.get(3).sharedModel.setSource('print("trained", steps, "epochs")');
          await panel.context.save();
        }"""
    )

    # open the snapshot read-only
    row.locator(".nbtrack-run-name").click()
    snapshot = page.locator(".nbtrack-snapshot")
    snapshot.wait_for()
    assert "Read-only snapshot" in snapshot.locator(".nbtrack-banner").inner_text()
    sources = snapshot.locator(".nbtrack-source").all_inner_texts()
    assert any("nbtrack.log(step=i" in s for s in sources), sources
    assert not any("added after the run" in s for s in sources)
    assert snapshot.locator(".cm-editor, [contenteditable='true'], textarea").count() == 0
    browser.screenshot("ui-snapshot")

    # diff against the current notebook: the added cell shows as added
    row.locator(".nbtrack-action-diff").click()
    added = page.locator(".nbtrack-diff .nbtrack-diff-added")
    added.first.wait_for()
    assert "added after the run" in added.first.inner_text()
    summary = page.locator(".nbtrack-diff .nbtrack-diff-summary").inner_text()
    assert "1 added" in summary and "1 changed" in summary, summary
    changed = page.locator(".nbtrack-diff .nbtrack-diff-changed")
    assert changed.locator(".nbtrack-line-removed").inner_text() == 'print("trained", steps)'
    assert (
        changed.locator(".nbtrack-line-added").inner_text() == 'print("trained", steps, "epochs")'
    )
    # unchanged cells are hidden until asked for
    assert not page.locator(".nbtrack-diff .nbtrack-diff-same").first.is_visible()
    page.locator(".nbtrack-diff .nbtrack-check input").check()
    assert page.locator(".nbtrack-diff .nbtrack-diff-same").first.is_visible()
    browser.screenshot("ui-diff")

    # replay with an override; the report appears
    row.locator(".nbtrack-action-replay").click()
    params = page.locator(".jp-Dialog .nbtrack-params")
    params.wait_for()
    params.fill("steps = 3")
    page.locator(".jp-Dialog .nbtrack-order").select_option("notebook")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    replay = page.locator(".nbtrack-replay")
    replay.wait_for()
    page.wait_for_selector(
        ".nbtrack-replay[data-state='done'], .nbtrack-replay[data-state='failed']", timeout=180_000
    )
    state = replay.get_attribute("data-state")
    assert state == "done", replay.inner_text()
    verdict = page.locator(".nbtrack-replay .nbtrack-verdict").inner_text()
    assert verdict in VERDICTS
    assert verdict != "failed", replay.inner_text()
    assert page.locator(".nbtrack-replay .nbtrack-report-section").first.locator("tr").count() > 1
    assert re.match(r"Done: (\d+) / \1 cells", page.locator(".nbtrack-replay-state").inner_text())
    # the override reached the server as a number
    assert 'parameters: {"steps":3}' in page.locator(".nbtrack-report-facts").inner_text()
    browser.screenshot("ui-replay-report")

    # the replay is a new run linked to its origin
    page.locator("#nbtrack-runs .nbtrack-all-toggle").check()
    page.wait_for_selector(
        f"#nbtrack-runs .nbtrack-run-replay:has-text('replay of {run_id}')", timeout=30_000
    )
    assert not [e for e in browser.console_errors if e.startswith("pageerror")]


def test_hostile_run_name_renders_as_text(browser: Browser, lab_server: LabServer) -> None:
    run = nbtrack.start(name=HOSTILE, store=str(lab_server.store))
    run.log(step=0, loss=1.0)
    run.finish()

    open_lab(browser, lab_server)
    open_sidebar(browser)
    page = browser.page
    page.locator("#nbtrack-runs .nbtrack-all-toggle").check()
    name = page.locator(f'#nbtrack-runs .nbtrack-run[data-run-id="{run.id}"] .nbtrack-run-name')
    name.wait_for(timeout=20_000)
    assert name.inner_text() == HOSTILE
    assert page.locator("#nbtrack-runs img").count() == 0

    # the replay dialog's title carries the name too, still as text
    page.locator(f'.nbtrack-run[data-run-id="{run.id}"] .nbtrack-action-replay').click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert HOSTILE in dialog.locator(".jp-Dialog-header").inner_text()
    assert dialog.locator("img").count() == 0
    browser.screenshot("ui-hostile-name")
    page.locator(".jp-Dialog .jp-mod-reject").click()
    dialog.wait_for(state="detached")
    # an alert could only come from the name parsed as markup: no such element exists anywhere
    assert page.eval_on_selector_all("[onerror], img[src='x']", "els => els.length") == 0
    assert browser.dialogs == []  # and none ran
