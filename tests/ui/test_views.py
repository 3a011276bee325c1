"""The run views in a real JupyterLab, driven by Chromium: the snapshot rendered by JupyterLab's
own notebook rendering under the run's header, its actions (open as notebook, download), one
tab per run even when names repeat, and nbdime's cell-aware diff with a human summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest
from playwright.sync_api import expect

from tests.ui.lab import (
    ROWS,
    action,
    assert_console_clean,
    open_lab,
    open_notebook,
    open_sidebar,
    row,
    seed_run,
    shoot,
    write_notebook,
)

if TYPE_CHECKING:
    from tests.browser import Browser, LabServer

pytestmark = [pytest.mark.ui, pytest.mark.slow]

LIVE_CURVES = {"output_type": "display_data", "metadata": {},
               "data": {"text/plain": "<nbtrack.widgets.live.LiveCurves object at 0x7f3a2b1c>"}}


def training_notebook(server: LabServer, name: str, lr: float = 0.01, extra: str | None = None) -> object:
    cells: list[str | tuple[str, str]] = [
        ("markdown", "# Training a tiny model\nThe **learning rate** is the only parameter."),
        f"lr = {lr}",
        "import nbtrack\nfor step in range(3):\n    loss = 1 / (step + 1)\n"
        "    nbtrack.log(step=step, loss=loss)\n    print(step, loss)",
        "nbtrack.show_live()",
    ]
    if extra:
        cells.append(extra)
    outputs = {
        2: [{"output_type": "stream", "name": "stdout", "text": "0 1.0\n1 0.5\n2 0.3333333333333333\n"}],
        3: [LIVE_CURVES],
    }
    return write_notebook(server.root / "views" / name, cells, outputs=outputs)


def test_snapshot_is_rendered_by_jupyterlab_with_the_run_header(browser: Browser, lab_server: LabServer) -> None:
    nb = training_notebook(lab_server, "train.ipynb")
    run_id = seed_run(
        lab_server,
        "tiny model",
        notebook=nb,
        params={"lr": 0.01, "layers": 2},
        tags=["views", "baseline"],
        note="first try: the loss halves each step",
        metrics={"loss": [1.0, 0.5, 1 / 3]},
    )
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="tag=views tag=baseline")
    page = browser.page
    row(browser, run_id).dblclick()
    view = page.locator(".nbtrack-snapshot")
    view.locator(".jp-RenderedMarkdown h1").wait_for()

    # markdown rendered as HTML, code highlighted by CodeMirror, read-only, outputs rendered
    assert view.locator(".jp-RenderedMarkdown h1").inner_text().startswith("Training a tiny model")
    assert view.locator(".jp-RenderedMarkdown strong").inner_text() == "learning rate"
    keyword = view.locator(".cm-line span", has_text="for").first
    plain = keyword.evaluate("n => getComputedStyle(n.closest('.cm-line')).color")
    assert keyword.evaluate("n => getComputedStyle(n).color") != plain  # a highlighted token
    editors = view.locator(".cm-editor")
    assert editors.count() == 4 and view.locator(".cm-editor.jp-mod-readOnly").count() == 4
    view.locator(".cm-line", has_text="lr = 0.01").click()
    page.keyboard.type("typed ")
    assert view.locator(".cm-line", has_text="typed").count() == 0  # read-only
    assert "0 1.0\n1 0.5" in view.locator(".jp-OutputArea-output").first.inner_text()
    # nbtrack's live chart is a placeholder, not "<... object at 0x...>"
    placeholder = view.locator(".nbtrack-widget-placeholder")
    assert placeholder.inner_text().startswith("live chart (nbtrack)")
    assert "object at 0x" not in view.inner_text()

    # the header: name, id, status, user, date, params, metrics, tags, note
    header = view.locator(".nbtrack-run-header")
    assert header.locator(".nbtrack-run-title").inner_text() == "tiny model"
    assert header.locator(".nbtrack-status-badge").inner_text() == "finished"
    assert run_id in header.locator(".nbtrack-fact-id").inner_text()
    assert "ui-tester" in header.inner_text()
    params = header.locator(".nbtrack-header-params")
    assert params.locator(".nbtrack-chip-key").all_inner_texts() == ["lr", "layers"]
    assert params.locator(".nbtrack-chip-value").all_inner_texts() == ["0.01", "2"]
    assert "min 0.3333" in header.locator('.nbtrack-chip[data-metric="loss"]').inner_text()
    assert header.locator(".nbtrack-tag").all_inner_texts() == ["views", "baseline"]
    assert header.locator(".nbtrack-note").inner_text() == "first try: the loss halves each step"
    # the tab names the run and carries its short id
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert tab.inner_text() == f"tiny model · {run_id[:10]}"
    shoot(browser, "snapshot", dark_checks=[".nbtrack-snapshot", ".nbtrack-snapshot .jp-InputArea-editor"])

    # open as notebook: an editable copy beside the current notebook, opened in a new tab
    page.locator(".nbtrack-snapshot-open-as-notebook").click()
    copy = lab_server.root / f"tiny-model-{run_id[:10]}.ipynb"
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_have_text(copy.name)
    saved = nbformat.read(copy, as_version=4)
    assert [c.source for c in saved.cells][1] == "lr = 0.01"
    # download: the snapshot as an .ipynb file
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="tiny model").click()  # back to the snapshot
    with page.expect_download() as download:
        page.locator(".nbtrack-snapshot-download").first.click()
    assert download.value.suggested_filename == f"tiny-model-{run_id[:10]}.ipynb"
    assert json.loads(Path(download.value.path()).read_text())["cells"][1]["source"] == "lr = 0.01"
    assert_console_clean(browser)


def test_runs_with_the_same_name_open_two_tabs(browser: Browser, lab_server: LabServer) -> None:
    nb = training_notebook(lab_server, "twins.ipynb")
    first = seed_run(lab_server, "twin", notebook=nb, tags=["twins"])
    second = seed_run(lab_server, "twin", notebook=nb, tags=["twins"])
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="tag=twins")
    page = browser.page
    for run_id in (first, second):
        row(browser, run_id).dblclick()
        expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_have_text(
            f"twin · {run_id[:10]}")
    titles = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").all_inner_texts()
    assert sorted(t for t in titles if t.startswith("twin")) == sorted(
        [f"twin · {first[:10]}", f"twin · {second[:10]}"]
    )
    row(browser, first).dblclick()  # opening a run again shows its tab, not a third one
    assert (
        len([t for t in page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").all_inner_texts() if t.startswith("twin")])
        == 2
    )
    assert_console_clean(browser)


def test_diff_of_two_runs_and_of_a_run_against_the_notebook(browser: Browser, lab_server: LabServer) -> None:
    before = training_notebook(lab_server, "diff.ipynb", lr=0.01)
    old = seed_run(lab_server, "diff before", notebook=before, tags=["diffing"])
    after = training_notebook(lab_server, "diff.ipynb", lr=0.02, extra="print('evaluated')")
    changed = nbformat.read(after, as_version=4)
    changed.cells[2].outputs[0]["text"] = "0 1.0\n1 0.5\n2 0.25\n"  # another output
    nbformat.write(changed, after)
    new = seed_run(lab_server, "diff after", notebook=after, tags=["diffing"])

    open_notebook(browser, lab_server, "views/diff.ipynb")
    open_sidebar(browser, all_runs=True, filter_text="tag=diffing")
    page = browser.page
    row(browser, new).click()
    row(browser, old).click(modifiers=["Control"])
    expect(action(browser, "diff")).to_have_attribute(
        "title", "Diff the notebooks of “diff after” and “diff before” cell by cell")
    action(browser, "diff").click()
    view = page.locator(".nbtrack-diff-view").last
    summary = view.locator(".nbtrack-diff-summary")
    summary.wait_for()
    assert summary.inner_text() == "1 cell changed, 1 added; outputs differ in 1 cell (2 unchanged)"
    # nbdime's cell diffs: the changed source, the added cell; unchanged cells hidden until asked
    view.locator(".jp-Cell-diff").first.wait_for(state="attached")
    assert view.locator(".nbtrack-diff-base").inner_text().startswith("run “diff before”")  # older on the left
    added = view.locator(".jp-Cell-diff.jp-Diff-added")
    assert added.count() == 1 and "print('evaluated')" in added.inner_text()
    assert "Output added" in view.locator(".jp-Cell-diff.jp-Diff-twoway").last.inner_text()  # 0.333 -> 0.25
    unchanged = view.locator(".jp-Cell-diff.jp-Diff-unchanged")
    assert unchanged.count() == 2 and not unchanged.first.is_visible()
    view.locator(".nbtrack-show-unchanged").click()
    assert unchanged.first.is_visible()
    view.locator(".nbtrack-show-unchanged").click()
    shoot(browser, "lab-diff", dark_checks=[".nbtrack-diff-view .nbtrack-diff", ".nbtrack-diff-view .jp-Cell-diff"])

    # one run against the notebook open now (which equals "diff after" on disk)
    page.locator(f'{ROWS}[data-run-id="{old}"]').click()
    action(browser, "diff").click()
    expect(page.locator(".nbtrack-diff-view")).to_have_count(2)
    against_file = page.locator(".nbtrack-diff-view").last
    expect(against_file.locator(".nbtrack-diff-summary")).to_have_text(
        "1 cell changed, 1 added; outputs differ in 1 cell (2 unchanged)")
    assert against_file.locator(".nbtrack-diff-remote").inner_text() == "views/diff.ipynb as saved"
    page.locator(f'{ROWS}[data-run-id="{new}"]').click()
    action(browser, "diff").click()
    expect(page.locator(".nbtrack-diff-view")).to_have_count(3)
    expect(page.locator(".nbtrack-diff-view .nbtrack-diff-summary").last).to_have_text(
        "No differences in sources or outputs (5 cells)")
    assert_console_clean(browser)
