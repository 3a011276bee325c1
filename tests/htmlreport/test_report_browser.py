"""Shared reports opened from disk in Debian's Chromium with the network blocked: one run and a
comparison render with no console error and no request beyond the file; the charts are the
widgets' (a legend naming the series, hover values, zoom); the confusion matrix steps; the
notebook snapshot shows nbconvert's cells with nothing active; a hostile run name is text; the
planted secrets are not in the file; and a report of 10 runs of 100,000 points stays under 5 MB.

Planted faults, each made for real and caught: an external <script src> in the page (a CSP
console error); the script's hash wrong in the CSP (nothing drawn); a run name put in with
innerHTML (an <img> element instead of text); params not redacted (the param secret in the
file); curves not downsampled (49 MB for 10 x 100k); snapshot outputs' external images, styles
and stylesheets kept (CSP console errors); nbconvert's lab template with its require.js and
MathJax scripts (a CDN reference in the file).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.core.series import Batch, encode_metrics
from nbtrack.store.store import open_store
from tests.browser import CHROMIUM, Browser
from tests.htmlreport.runs import CELL_TOKEN, HOSTILE, PARAM_KEY, notebook, report_store, snapshot

pytestmark = [
    pytest.mark.ui,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="/usr/bin/chromium is missing"),
]
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
VIEWPORT = {"width": 1600, "height": 1000}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    store, (first, second) = report_store(folder)
    one = nbtrack.report(first, path=folder / "one.html", store=store)
    two = nbtrack.report(first, second, path=folder / "two.html", store=store)
    return {"one": one, "two": two}


def open_report(browser: Browser, path: Path, dark: bool = False) -> list[str]:
    """Open `path` with every other request aborted; returns every URL the page asked for."""
    page = browser.page
    url = path.resolve().as_uri()
    requested: list[str] = []

    def route(r: Any) -> None:
        requested.append(r.request.url)
        r.continue_() if r.request.url == url else r.abort()

    page.route("**/*", route)
    page.set_viewport_size(VIEWPORT)
    page.emulate_media(color_scheme="dark" if dark else "light")
    page.goto(url)
    page.wait_for_selector("#nbtrack-report[data-ready=true]", timeout=15_000)
    page.wait_for_selector(".rp-snapshot-frame[data-loaded=true]", state="attached", timeout=15_000)
    return requested


def assert_clean(browser: Browser, requested: list[str], path: Path) -> None:
    assert requested == [path.resolve().as_uri()], requested
    assert browser.console_errors == [], browser.console_errors
    assert browser.dialogs == [], browser.dialogs


def shoot(browser: Browser, path: Path, name: str) -> None:
    """docs/images/NAME-light.png and NAME-dark.png: the report as the system's theme shows it."""
    for theme in ("light", "dark"):
        open_report(browser, path, dark=theme == "dark")
        browser.page.mouse.move(0, 0)
        browser.page.screenshot(path=str(IMAGES / f"{name}-{theme}.png"))
    assert browser.console_errors == []


def legend(chart: Any) -> dict[str, str]:
    rows = chart.locator(".u-legend tr.u-series")
    return {rows.nth(i).locator(".u-label").inner_text(): rows.nth(i).locator(".u-value").inner_text()
            for i in range(rows.count())}


def hover_and_zoom(browser: Browser, chart: Any, key: str) -> None:
    """Hover shows the values under the cursor in the legend; a drag zooms in (fewer points drawn)."""
    page = browser.page
    chart.scroll_into_view_if_needed()
    assert legend(chart)["step"] == "latest"
    box = chart.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] / 2)
    page.wait_for_function("(c) => c.querySelector('.u-legend tr.u-series .u-value').textContent !== 'latest'",
                           arg=chart.element_handle())
    assert re.fullmatch(r"[\d,]+", legend(chart)["step"]), legend(chart)
    before = json.loads(chart.get_attribute("data-drawn"))[key]
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 40, steps=5)
    page.mouse.up()
    page.wait_for_function("([c, k, n]) => JSON.parse(c.dataset.drawn)[k] < n",
                           arg=[chart.element_handle(), key, before])
    assert chart.locator(".nbw-chart-reset").is_visible()
    page.mouse.move(0, 0)


def test_one_run_report_renders_offline_with_every_section(browser: Browser, reports: dict[str, Path]) -> None:
    path = reports["one"]
    requested = open_report(browser, path)
    page = browser.page
    run = page.locator("article.rp-run")
    assert run.count() == 1
    assert run.locator(".rp-run-name").inner_text() == "baseline"
    assert run.locator(".nbw-status").inner_text() == "finished"
    assert [t.inner_text() for t in run.locator(".rp-tag").all()] == ["report", "faces"]
    assert "does lr=0.1 help?" in run.locator(".rp-note").inner_text()
    params = dict(row.locator("td").all_inner_texts() for row in run.locator(".rp-params tbody tr").all())
    assert params == {"api_key": "[REDACTED]", "epochs": "3", "lr": "0.1", "optimizer": "adam"}
    # metrics: the summary, one chart for loss and val_loss with a legend, a tile for final_acc
    loss = run.locator('.nbw-chart[data-title="loss"]')
    assert json.loads(loss.get_attribute("data-series")) == ["loss", "val_loss"]
    assert set(legend(loss)) == {"step", "loss", "val_loss"}
    assert run.locator('.nbw-tile[data-title="final_acc"] .nbw-tile-value').inner_text() == "1"
    assert loss.locator(".nbw-chart-note").inner_text() == ""  # 300 points: every one drawn
    assert json.loads(loss.get_attribute("data-drawn")) == {"loss": 300, "val_loss": 300}
    hover_and_zoom(browser, loss, "loss")
    # confusion matrices with their step slider
    cm = run.locator(".rp-confusion")
    assert cm.locator(".nbw-cm-step").inner_text() == "step 300 (2 of 2)"
    cm.locator(".nbw-cm-slider").evaluate("(s) => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
    assert cm.locator(".nbw-cm-step").inner_text() == "step 1 (1 of 2)"
    # data, environment (git commit and dirty flag), warnings, the replay's verdict and cause
    data_row = run.locator(".rp-data-table tbody tr").first.locator("td").all_inner_texts()
    assert data_row[0].endswith("data-bas.csv") and data_row[1] == "data-bas.csv@1"  # the stored version
    assert run.locator(".rp-model-table td").all_inner_texts() == ["baseline-model@1"]
    env = run.locator(".rp-environment").inner_text()
    assert "Python" in env and "git commit" in env and "working tree" in env
    assert "out_of_order: cell 3 ran before cell 2" in run.locator(".rp-warnings").inner_text()
    replay = run.locator(".rp-replay")
    assert replay.locator(".rp-verdict").inner_text() == "differs"
    assert "+ loss 0.910" in replay.inner_text() and "loss" in replay.locator(".rp-replay-metrics").inner_text()
    # the snapshot: nbconvert's cells with outputs, the token redacted, nothing active
    frame = page.frame_locator(".rp-snapshot-frame")
    assert frame.locator(".jp-Cell").count() == 4
    assert frame.locator(".jp-RenderedMarkdown h1").inner_text().startswith("Training")
    assert '"[REDACTED]"' in frame.locator(".jp-CodeCell").first.inner_text()
    assert frame.locator("img[src^='data:image/png']").count() == 1
    assert frame.locator("script").count() == 0 and page.title() == "Run baseline"
    assert_clean(browser, requested, path)
    shoot(browser, path, "report")


def test_comparison_report_overlays_runs_and_shows_the_hostile_name_as_text(browser: Browser,
                                                                            reports: dict[str, Path]) -> None:
    path = reports["two"]
    requested = open_report(browser, path)
    page = browser.page
    comparison = page.locator(".rp-comparison")
    labels = [t.inner_text() for t in comparison.locator(".nbw-diff-run strong").all()]
    assert labels[0].startswith("baseline [") and labels[1].startswith(HOSTILE + " [")
    loss = comparison.locator('.nbw-chart[data-title="loss"]')
    assert set(legend(loss)) == {"step", *labels}
    hover_and_zoom(browser, loss, page.locator("article.rp-run").nth(0).get_attribute("data-run"))
    assert comparison.locator('.nbw-diff-params tr.nbw-changed[data-key="lr"]').count() == 1
    assert comparison.locator('.nbw-diff-params tr.nbw-changed[data-key="epochs"]').count() == 0
    changed = comparison.locator('.nbw-cell[data-status="changed"]')
    assert changed.count() == 2  # lr = 0.1 -> 0.05, and a print added
    assert "lr = 0.05" in changed.nth(0).inner_text() and "print('more')" in changed.nth(1).inner_text()
    assert page.locator("article.rp-run").count() == 2
    # the hostile name is text everywhere: no element made of it, no dialog
    assert page.locator("article.rp-run").nth(1).locator(".rp-run-name").inner_text() == HOSTILE
    assert page.locator("img[src=x]").count() == 0 and HOSTILE in page.title()
    assert_clean(browser, requested, path)
    shoot(browser, path, "report-compare")


def test_planted_secrets_and_cdn_scripts_are_not_in_the_file(reports: dict[str, Path]) -> None:
    """(planted fault: nbconvert's lab template as it is, which loads require.js and MathJax
    from a CDN)"""
    for path in reports.values():
        text = path.read_text()
        assert not re.search(r"(?i)<script[^>]+src=|cdnjs|unpkg|jsdelivr|require\.min\.js|mathjax", text)
        assert len(re.findall(r"<script[ >]", text)) == 3  # the two JSON blocks and the one script
        assert CELL_TOKEN not in text, path.name
        assert PARAM_KEY not in text, path.name
        assert "[REDACTED]" in text


def test_ten_runs_of_100k_points_stay_under_5_mb(browser: Browser, tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    ids = []
    n = 100_000
    for r in range(10):
        run = nbtrack.start(f"long-{r}", store=store, params={"seed": r, "lr": 0.001 * (r + 1)})
        steps = list(range(n))
        values = [math.exp(-i / (20_000 + 3_000 * r)) + 0.05 * math.sin(i / 50 + r) for i in steps]
        run.write(encode_metrics([Batch(("loss",), steps, [time.time()] * n, [values])], time.time())[0])
        snapshot(run, store, notebook(tmp_path / f"nb{r}.ipynb", 0.001 * (r + 1)))
        nbtrack.finish()
        ids.append(run.id)
    path = nbtrack.report(*ids, path=tmp_path / "ten.html", store=store)
    size = path.stat().st_size
    print(f"\nreport of 10 runs x {n:,} points: {size:,} bytes ({size / 2**20:.2f} MiB)")
    assert size < 5 * 2**20
    requested = open_report(browser, path)
    loss = browser.page.locator('.rp-comparison .nbw-chart[data-title="loss"]')
    drawn = json.loads(loss.get_attribute("data-drawn"))
    assert len(drawn) == 10 and all(500 < count <= 1200 for count in drawn.values()), drawn
    assert "100,000 points" in loss.locator(".nbw-chart-note").inner_text()
    own = browser.page.locator('article.rp-run .nbw-chart[data-title="loss"]').first
    assert "loss: 100,000 points" in own.locator(".nbw-chart-note").inner_text()
    assert 500 < json.loads(own.get_attribute("data-drawn"))["loss"] <= 1200
    assert_clean(browser, requested, path)
