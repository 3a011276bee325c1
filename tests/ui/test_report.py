"""The sidebar's Export Report in a real JupyterLab: select runs, click the action, and the
browser saves one HTML file that opens offline with their comparison (planted fault: the
command posts the wrong ids, or the route answers JSON: the saved file is not the report)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.htmlreport.test_report_browser import assert_clean, open_report
from tests.ui.lab import ROWS, action, assert_console_clean, open_lab, open_sidebar, row, seed_run, write_notebook

if TYPE_CHECKING:
    from pathlib import Path

    from tests.browser import Browser, LabServer

pytestmark = [pytest.mark.ui, pytest.mark.slow]


def test_export_report_saves_the_selected_runs_as_one_html_file(browser: Browser, lab_server: LabServer,
                                                                 tmp_path: Path) -> None:
    folder = lab_server.root / "report"
    runs = [seed_run(lab_server, f"report lr={lr}", notebook=write_notebook(folder / f"lr{lr}.ipynb", [f"lr = {lr}"]),
                     params={"lr": lr}, tags=["report-ui"], metrics={"loss": [1.0, 0.6, lr]}) for lr in (0.1, 0.2)]
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="tag=report-ui")
    page = browser.page
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 2")
    export = action(browser, "report")
    assert export.get_attribute("disabled") is not None
    assert "Select one or more runs" in export.get_attribute("title")
    row(browser, runs[0]).click()
    row(browser, runs[1]).click(modifiers=["Control"])
    assert export.get_attribute("title").startswith("Save 2 runs and their comparison as one HTML file")
    with page.expect_download() as download:
        export.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"nbtrack-report-{runs[0]}-and-1-more.html"
    assert_console_clean(browser)

    requested = open_report(browser, saved)
    names = page.locator("article.rp-run .rp-run-name").all_inner_texts()
    assert names == ["report lr=0.1", "report lr=0.2"]
    assert page.locator('.rp-comparison tr.nbw-changed[data-key="lr"]').count() == 1
    assert_clean(browser, requested, saved)
