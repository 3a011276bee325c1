"""The unsaved-edit journey in a real JupyterLab driven by headless Chromium: type a new value
into the parameters cell, do not save, Run All. The run, ``%nbtrack status``, and every REST
payload the run table, the sidebar and the replay dialog read must show the value that ran."""

from __future__ import annotations

from typing import TYPE_CHECKING

import nbformat
import pytest

import nbtrack
from tests.journeys.frontend import make_notebook, unsaved
from tests.ui.lab import JS_KERNEL_IDLE, action, open_notebook, open_sidebar
from tests.ui.lab import row as sidebar_row

if TYPE_CHECKING:
    from tests.browser import Browser, LabServer

pytestmark = [pytest.mark.ui, pytest.mark.slow]

NAME = "unsaved-journey.ipynb"
CELLS = [
    ("markdown", "# Depth"),
    ("code", "max_depth = 12\nseed = 0", ["parameters"]),
    ("code", '%load_ext nbtrack\n%nbtrack start "unsaved journey" --tag browser-journey'),
    ("code", "import nbtrack\nnbtrack.log(step=0, score=max_depth * 10 + seed)\nprint('score', max_depth * 10)"),
    ("code", "%nbtrack status"),
    ("code", "%nbtrack stop"),
]


def test_edit_a_parameter_and_run_all_without_saving(browser: Browser, lab_server: LabServer) -> None:
    path = lab_server.root / NAME
    nbformat.write(make_notebook(CELLS), path)
    open_notebook(browser, lab_server, NAME)
    page = browser.page

    # type the new value into the parameters cell, as a person does; no save
    editor = page.locator(".jp-NotebookPanel .jp-Cell").nth(1).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("max_depth = 4\nseed = 0")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".jp-OutputArea-output:has-text('nbtrack: run') >> text=finished", timeout=90_000)
    page.wait_for_function(JS_KERNEL_IDLE, timeout=60_000)
    status = page.locator(".jp-NotebookPanel .jp-Cell").nth(4).locator(".jp-OutputArea").inner_text()
    browser.screenshot("journey-unsaved-run-all")
    assert "max_depth = 12" in path.read_text()  # the file was never saved

    [row] = [r for r in nbtrack.runs("tag=browser-journey", store=str(lab_server.store)).to_dict("records")]
    run = nbtrack.get_run(row["id"], str(lab_server.store))
    assert run.params == {"max_depth": 4, "seed": 0}
    assert run.history()["score"].tolist() == [40.0]
    assert run.records[0]["notebook"] == str(path)  # found through the server's session
    assert [c["source"] for c in run.cells] == [c[1] for c in CELLS[2:]]
    assert [c["cell_id"] for c in run.cells] == [c.id for c in make_notebook(CELLS).cells][2:]
    snapshot = run.notebook()
    assert [c.cell_type for c in snapshot.cells] == ["markdown", "code", "code", "code", "code", "code"]
    assert unsaved(snapshot) == {"max_depth = 4\nseed = 0": "max_depth = 12\nseed = 0"}
    assert [w["kind"] for w in run.warnings] == ["unsaved_edit"]
    assert "unsaved_edit" in status and "warnings: none" not in status, status

    # what the views read: the run table and sidebar (runs of this notebook), the run's detail
    # (the replay dialog's parameters), its snapshot
    listed = lab_server.api(f"nbtrack/api/runs?notebook={NAME}")
    assert [r["params"] for r in listed["runs"]] == [{"max_depth": 4, "seed": 0}]
    assert lab_server.api(f"nbtrack/api/runs/{run.id}")["params"] == {"max_depth": 4, "seed": 0}
    served = lab_server.api(f"nbtrack/api/runs/{run.id}/notebook")
    assert served["cells"][1]["source"] == "max_depth = 4\nseed = 0"
    assert served["cells"][1]["metadata"]["nbtrack"]["unsaved"] is True

    # the replay dialog offers the values that ran
    open_sidebar(browser)
    sidebar_row(browser, run.id).click()
    action(browser, "replay").click()
    params = page.locator(".jp-Dialog .nbtrack-params")
    params.wait_for()
    assert "max_depth = 4" in params.input_value() and "12" not in params.input_value()
    browser.screenshot("journey-unsaved-replay-dialog")
    page.locator(".jp-Dialog .jp-mod-reject").click()
