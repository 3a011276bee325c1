"""Replay from the lab, driven by Chromium against a real server (papermill, a real kernel): the
dialog names whose code runs and wants a confirmation for someone else's run, the executed
notebook goes to a folder the user sees, and the report reads as plain words."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.ui.lab import (
    SIDEBAR,
    action,
    assert_console_clean,
    open_lab,
    open_sidebar,
    row,
    seed_run,
    shoot,
    write_notebook,
)

if TYPE_CHECKING:
    from tests.browser import Browser, LabServer

pytestmark = [pytest.mark.ui, pytest.mark.slow]


def test_replay_of_someone_elses_run_asks_first_and_reports_plainly(browser: Browser, lab_server: LabServer) -> None:
    notebook = write_notebook(
        lab_server.root / "replay" / "train.ipynb",
        ["steps = 4", "import nbtrack",
         "for i in range(steps):\n    nbtrack.log(step=i, loss=1.0 / (i + 1))",
         'print("trained", steps)'],
        parameters_cell=0,
        outputs={3: [{"output_type": "stream", "name": "stdout", "text": "trained 4\n"}]},
    )
    run_id = seed_run(lab_server, "alice's baseline", notebook=notebook, user="alice", host="alice-laptop",
                      params={"steps": 4}, tags=["replaying"], metrics={"loss": [1.0, 0.5, 1 / 3, 0.25]})
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="tag=replaying")
    page = browser.page
    row(browser, run_id).click()
    expect(action(browser, "replay")).to_have_attribute("title", "Run “alice's baseline” again and compare the results")
    action(browser, "replay").click()

    dialog = page.locator(".jp-Dialog")
    dialog.locator(".nbtrack-replay-owner").wait_for()
    owner = dialog.locator(".nbtrack-replay-owner").inner_text()
    assert f"Runs the code of run {run_id[:10]} ({run_id})" in owner
    assert "Recorded by alice on alice-laptop" in owner
    warning = dialog.locator(".nbtrack-replay-warning").inner_text()
    assert "This is not your run: you are ui-tester." in warning
    accept = dialog.locator(".jp-mod-accept")
    assert accept.is_disabled()  # not before the box is ticked
    assert dialog.locator(".nbtrack-folder").input_value() == "replay/nbtrack-replays"  # beside the notebook
    assert dialog.locator(".nbtrack-params").input_value() == "steps = 4"
    dialog.locator(".nbtrack-params").fill("steps = 3")
    dialog.locator(".nbtrack-confirm-box").check()
    assert accept.is_enabled()
    shoot(browser, "replay-dialog", dark_checks=[".jp-Dialog-content"])

    with page.expect_request(lambda r: "/nbtrack/api/replay" in r.url and r.method == "POST") as sent:
        accept.click()
    body = json.loads(sent.value.post_data or "{}")
    assert body == {"run": run_id, "parameters": {"steps": 3}, "order": "notebook",
                    "folder": "replay/nbtrack-replays", "confirm": True}

    report = page.locator(".nbtrack-replay")
    page.wait_for_selector(".nbtrack-replay[data-state='done'], .nbtrack-replay[data-state='failed']", timeout=180_000)
    assert report.get_attribute("data-state") == "done", report.inner_text()
    # where the executed notebook went, shown and on disk
    output = report.locator(".nbtrack-replay-output code").inner_text()
    assert re.fullmatch(r"replay/nbtrack-replays/train\.replay-\w+-\w+\.ipynb", output), output
    assert (lab_server.root / output).is_file()
    # a verdict in words, plain headers, the differing cell expandable to its whole difference
    assert report.locator(".nbtrack-verdict-word").inner_text().lower() == "differs"
    assert report.locator(".nbtrack-report-facts").inner_text().splitlines()[:2] == ["Parameters", "steps = 3"]
    titles = [t.split(" · ")[0] for t in report.locator(".nbtrack-report-title").all_inner_texts()]
    assert titles == ["Cells", "Metrics (final values)", "Environment", "Data"]
    different = report.locator('details.nbtrack-report-cell[data-status="different"]')
    assert different.count() == 1
    assert not different.locator(".nbtrack-report-difference").is_visible()
    different.locator("summary").click()
    difference = different.locator(".nbtrack-report-difference").inner_text()
    assert "-trained 4" in difference and "+trained 3" in difference
    metric = report.locator(".nbtrack-table tr", has_text="loss").inner_text().split("\t")
    assert metric[:4] == ["loss", "0.25", "0.3333", "different"], metric
    assert metric[4].startswith("Parameters: as cell "), metric
    assert different.locator(".nbtrack-cause").inner_text() == "Parameters"
    assert "Cause: Parameters: the replay set steps=3" in different.inner_text()
    assert report.locator(".nbtrack-report-section", has_text="Data").locator(".nbtrack-none").inner_text() == \
        "No datasets were tracked."
    text = report.inner_text()
    for raw in ("cell_id", "agree", "(0)", "true", "..."):
        assert raw not in text, raw
    shoot(browser, "replay-report", dark_checks=[".nbtrack-replay", ".nbtrack-report-difference"])

    # the replay is a run of its own, linked to its origin, and can be diffed with it
    report.locator(".nbtrack-replay-diff").click()
    expect(page.locator(".nbtrack-diff-view .nbtrack-diff-summary").last).to_contain_text("outputs differ in")
    page.fill(f"{SIDEBAR} .nbtrack-filter", f"replay_of={run_id}")
    expect(page.locator(f"{SIDEBAR} .nbtrack-run-replay")).to_have_text(f"replay of {run_id[:10]}")
    assert_console_clean(browser)
