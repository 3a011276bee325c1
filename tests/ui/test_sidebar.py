"""The runs sidebar in a real JupyterLab, driven by Chromium: compact rows and paging, the
filter box, multi-select with Compare and Diff, actions disabled with a reason, the empty
state, refresh failures, and user text that stays text."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from nbtrack.store.store import open_store
from tests.server.conftest import write_run
from tests.ui.lab import (
    HOSTILE,
    ROWS,
    SIDEBAR,
    action,
    assert_console_clean,
    background_of,
    luminance,
    open_lab,
    open_notebook,
    open_sidebar,
    row,
    seed_run,
    set_theme,
    shoot,
    write_notebook,
)

if TYPE_CHECKING:
    from tests.browser import Browser, LabServer

pytestmark = [pytest.mark.ui, pytest.mark.slow]


def test_compact_rows_page_through_every_run(browser: Browser, lab_server: LabServer) -> None:
    store = open_store(lab_server.store)
    now = time.time()
    ids = [
        write_run(store, f"sweep {i:02d}", started=now - 3600 + i * 10, params={"lr": i / 100},
                  tags=["paging"], notebook=f"/work/notebooks/exp{i % 3}.ipynb", user="ui-tester")
        for i in range(70)
    ]
    write_notebook(lab_server.root / "exp0.ipynb", [("markdown", "# Sweep over the learning rate"), "lr = 0.01"])
    open_lab(browser, lab_server, "lab/tree/exp0.ipynb")  # a notebook beside the list, as people work
    browser.page.locator(".jp-NotebookPanel .jp-RenderedMarkdown h1").wait_for()
    open_sidebar(browser, all_runs=True, filter_text="tag=paging")
    page = browser.page
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 50")
    assert page.locator(f"{SIDEBAR} .nbtrack-runs-count").inner_text() == "50 of 70 runs"
    # newest first, and the all-runs view names each run's notebook
    assert page.locator(ROWS).first.get_attribute("data-run-id") == ids[-1]
    assert row(browser, ids[-1]).locator(".nbtrack-run-notebook").inner_text() == "exp0.ipynb"
    # compact: 20+ rows visible in a 1000 px window
    visible = page.evaluate(
        """(sel) => {
          const list = document.querySelector('#nbtrack-runs .nbtrack-runs-list').getBoundingClientRect();
          return [...document.querySelectorAll(sel)].filter(r => {
            const b = r.getBoundingClientRect();
            return b.top >= list.top && b.bottom <= list.bottom;
          }).length;
        }""",
        ROWS,
    )
    assert visible >= 20, visible
    shoot(browser, "sidebar", dark_checks=[f"{SIDEBAR} .nbtrack-runs-list"])

    # scrolling to the end loads the rest
    page.locator(f"{SIDEBAR} .nbtrack-runs-list").evaluate("l => l.scrollTop = l.scrollHeight")
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 70")
    assert page.locator(f"{SIDEBAR} .nbtrack-runs-count").inner_text() == "70 runs"
    assert page.locator(ROWS).last.get_attribute("data-run-id") == ids[0]
    assert_console_clean(browser)


def test_bad_filter_says_what_is_wrong(browser: Browser, lab_server: LabServer) -> None:
    seed_run(lab_server, "filter target", params={"lr": 0.5}, tags=["filtering"])
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="loss<")
    page = browser.page
    error = page.locator(f"{SIDEBAR} .nbtrack-filter-error")
    error.wait_for()
    assert error.inner_text().startswith("Bad filter:")
    assert "Examples:" in error.inner_text()
    assert page.locator(f"{SIDEBAR} .nbtrack-filter").get_attribute("aria-invalid") == "true"
    shoot(browser, "sidebar-filter-error")
    page.fill(f"{SIDEBAR} .nbtrack-filter", "tag=filtering lr>0.4")
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 1")
    assert error.is_hidden()
    assert page.locator(f"{ROWS} .nbtrack-run-name").inner_text() == "filter target"
    assert_console_clean(browser, expected_statuses=[400])  # the bad filter's answer


def test_multi_select_enables_compare_and_diff(browser: Browser, lab_server: LabServer) -> None:
    folder = lab_server.root / "select"
    runs = []
    for lr in (0.1, 0.2, 0.3):
        nb = write_notebook(folder / f"lr{lr}.ipynb", [f"lr = {lr}", "print(lr)"])
        runs.append(seed_run(lab_server, f"select lr={lr}", notebook=nb, params={"lr": lr}, tags=["select"],
                             metrics={"loss": [1.0, 0.5, lr]}))
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="tag=select")
    page = browser.page
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 3")
    compare = action(browser, "compare")
    assert compare.get_attribute("disabled") is not None
    assert "Select two or more runs" in compare.get_attribute("title")

    row(browser, runs[2]).click()
    assert "Select two or more runs to compare (1 selected)" in compare.get_attribute("title")
    row(browser, runs[1]).click(modifiers=["Control"])
    expect(compare).to_have_attribute("title", "Compare 2 runs: parameters, metrics and charts")
    assert compare.get_attribute("disabled") is None
    diff = action(browser, "diff")
    expect(diff).to_have_attribute("title", re.compile("^Diff the notebooks of “select lr=0.3” and “select lr=0.2”"))
    assert diff.get_attribute("disabled") is None
    # shift-click extends to a range, a checkbox takes one out
    row(browser, runs[0]).click(modifiers=["Shift"])
    assert page.locator(f'{ROWS}[aria-selected="true"]').count() == 3
    assert "Select one or two runs to diff (3 selected)" in diff.get_attribute("title")
    row(browser, runs[1]).locator(".nbtrack-run-check").click()
    assert page.locator(f'{ROWS}[aria-selected="true"]').count() == 2
    assert row(browser, runs[1]).get_attribute("aria-selected") == "false"
    row(browser, runs[1]).locator(".nbtrack-run-check").click()
    shoot(browser, "sidebar-selection", dark_checks=[f'{ROWS}[aria-selected="true"]'])

    compare.click()
    view = page.locator(".nbtrack-compare")
    view.wait_for()
    names = view.locator(".nbtrack-compare-name").all_inner_texts()
    assert sorted(names) == ["select lr=0.1", "select lr=0.2", "select lr=0.3"]
    assert view.locator('tr.nbtrack-differs[data-row="lr"]').count() == 1
    assert view.locator('tr[data-row="User"]:not(.nbtrack-differs)').count() == 1
    chart = view.locator('.nbtrack-chart[data-metric="loss"]')
    chart.locator("canvas").first.wait_for()
    legend = chart.locator(".u-legend .u-series th").all_inner_texts()
    assert sum("select lr=" in text for text in legend) == 3, legend  # a legend that names each run
    page.locator(".nbtrack-only-differences-toggle").click()
    assert view.locator('tr[data-row="User"]').is_hidden()
    assert view.locator('tr[data-row="lr"]').is_visible()
    shoot(browser, "lab-compare", dark_checks=[".nbtrack-compare", ".nbtrack-chart"])
    assert_console_clean(browser)


def test_actions_say_why_they_cannot_work(browser: Browser, lab_server: LabServer) -> None:
    script_run = seed_run(lab_server, "from a script", tags=["no-snapshot"])
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="tag=no-snapshot")
    row(browser, script_run).click()
    reason = "“from a script” has no notebook snapshot (it was not recorded from a notebook)"
    for name in ("diff", "replay", "open"):
        expect(action(browser, name)).to_have_attribute("title", reason)
        assert action(browser, name).get_attribute("disabled") is not None
    row(browser, script_run).dblclick()  # opening it says why in a notification, no error dialog
    expect(browser.page.locator(".Toastify__toast", has_text=reason)).to_be_visible()
    assert browser.page.locator(".jp-Dialog").count() == 0
    assert_console_clean(browser)  # no request that could only fail


def test_empty_state_says_how_to_start(browser: Browser, lab_server: LabServer) -> None:
    write_notebook(lab_server.root / "fresh.ipynb", ["x = 1"])
    open_notebook(browser, lab_server, "fresh.ipynb")
    open_sidebar(browser)
    page = browser.page
    empty = page.locator(f"{SIDEBAR} .nbtrack-runs-empty")
    empty.wait_for()
    text = empty.inner_text()
    assert text.startswith("No runs of fresh.ipynb yet.")
    assert empty.locator(".nbtrack-code").inner_text() == "%load_ext nbtrack\n%nbtrack start"
    empty.locator(".nbtrack-start-link").click()  # the same as the toolbar's Start run
    page.locator(".jp-Dialog .jp-Dialog-header", has_text="Start a tracked run").wait_for()
    page.locator(".jp-Dialog .jp-mod-reject").click()
    assert page.locator(f"{SIDEBAR} .nbtrack-runs-context").inner_text() == "Runs of fresh.ipynb"
    shoot(browser, "sidebar-empty")
    assert_console_clean(browser)


def test_refresh_failure_is_shown_and_recovers(browser: Browser, lab_server: LabServer) -> None:
    run_id = seed_run(lab_server, "still listed", tags=["outage"])
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="tag=outage")
    page = browser.page
    row(browser, run_id).wait_for()

    def outage(route: object) -> None:
        route.fulfill(status=503, content_type="application/json",  # type: ignore[attr-defined]
                      body='{"message": "the store cannot be opened"}')

    page.route("**/nbtrack/api/runs?*", outage)
    page.click(f"{SIDEBAR} .nbtrack-refresh")
    error = page.locator(f"{SIDEBAR} .nbtrack-refresh-error")
    error.wait_for()
    assert "Could not refresh the runs" in error.inner_text()
    assert "the store cannot be opened" in error.inner_text()
    assert row(browser, run_id).is_visible()  # the last good list stays
    page.unroute("**/nbtrack/api/runs?*")
    error.locator(".nbtrack-link").click()  # Retry now
    error.wait_for(state="hidden")
    assert_console_clean(browser, expected_statuses=[503])  # the outage's answers


def test_user_text_stays_text(browser: Browser, lab_server: LabServer) -> None:
    nb = write_notebook(lab_server.root / "hostile.ipynb", ["x = 1"])
    run_id = seed_run(lab_server, HOSTILE, notebook=nb, params={HOSTILE: HOSTILE}, tags=[HOSTILE, "hostile"],
                      note=HOSTILE, metrics={HOSTILE: [1.0, 2.0]})
    other = seed_run(lab_server, "plain", notebook=nb, tags=["hostile"], metrics={HOSTILE: [2.0, 1.0]})
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="tag=hostile")
    page = browser.page
    name = row(browser, run_id).locator(".nbtrack-run-name")
    name.wait_for()
    assert name.inner_text() == HOSTILE

    row(browser, run_id).dblclick()  # the snapshot's header: name, params, tags, note, metrics
    header = page.locator(".nbtrack-run-header")
    header.wait_for()
    assert header.locator(".nbtrack-run-title").inner_text() == HOSTILE
    assert header.locator(".nbtrack-note").inner_text() == HOSTILE
    assert HOSTILE in header.locator(".nbtrack-header-tags").inner_text()
    row(browser, other).click(modifiers=["Control"])  # compare: names, params, metric charts
    action(browser, "compare").click()
    compare = page.locator(".nbtrack-compare")
    compare.locator(f'.nbtrack-chart[data-metric="{HOSTILE}"] canvas').first.wait_for()
    assert HOSTILE in compare.locator(".nbtrack-compare-name").all_inner_texts()
    row(browser, run_id).click()  # the replay dialog
    action(browser, "replay").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert HOSTILE in dialog.locator(".jp-Dialog-header").inner_text()
    assert HOSTILE in dialog.locator(".nbtrack-params").input_value()
    page.locator(".jp-Dialog .jp-mod-reject").click()
    assert page.locator("img[src='x']").count() == 0
    assert browser.dialogs == []  # no alert() ran
    assert_console_clean(browser)


def test_dark_theme_keeps_every_background_dark(browser: Browser, lab_server: LabServer) -> None:
    run_id = seed_run(lab_server, "dark check", tags=["dark"])
    open_lab(browser, lab_server)
    open_sidebar(browser, all_runs=True, filter_text="tag=dark")
    row(browser, run_id).click()
    set_theme(browser, dark=True)
    try:
        for selector in (f"{SIDEBAR} .nbtrack-runs-list", f'{ROWS}[aria-selected="true"]',
                         f"{SIDEBAR} .nbtrack-filter", f"{SIDEBAR} .nbtrack-scope-notebook"):
            assert background_of(browser, selector) < 0.35, selector
        text = browser.page.locator(f"{ROWS} .nbtrack-run-name").evaluate("n => getComputedStyle(n).color")
        assert luminance(text) > 0.6, text  # light text on it
    finally:
        set_theme(browser, dark=False)
    assert_console_clean(browser)
