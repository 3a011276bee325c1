"""Helpers for the lab extension's browser tests: open JupyterLab and its sidebar, seed runs
into the lab server's store through the Python API, and take the light and dark screenshots
the docs show (docs/images/NAME-light.png, NAME-dark.png at 1600x1000)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

import nbtrack
from nbtrack.store.store import open_store
from tests.browser import set_theme
from tests.server.conftest import record_snapshot

if TYPE_CHECKING:
    from tests.browser import Browser, LabServer

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
USER = "ui-tester"  # the lab server's $NBTRACK_USER: runs seeded as this user are "yours"
HOSTILE = "<img src=x onerror=alert(1)>"
SIDEBAR_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="nbtrack-runs"]'
SIDEBAR = "#nbtrack-runs"
ROWS = "#nbtrack-runs .nbtrack-run"
# Chromium logs every 4xx/5xx answer as a console error; tests that provoke one on purpose say so.
NETWORK_ERROR = re.compile(r"^error: Failed to load resource: the server responded with a status of (\d+)")

JS_KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""


def write_notebook(path: Path, cells: Iterable[str | tuple[str, str]], parameters_cell: int | None = None,
                   outputs: dict[int, list[dict[str, Any]]] | None = None) -> Path:
    """A notebook of code cells (or ("markdown", text) pairs), with optional stored outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(cells):
        if isinstance(cell, tuple):
            nb.cells.append(nbformat.v4.new_markdown_cell(cell[1]))
            continue
        code = nbformat.v4.new_code_cell(cell)
        if i == parameters_cell:
            code.metadata["tags"] = ["parameters"]
        if outputs and i in outputs:
            code.outputs = [nbformat.from_dict(o) for o in outputs[i]]
            code.execution_count = i + 1
        nb.cells.append(code)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def seed_run(server: LabServer, name: str = "", *, notebook: Path | None = None,
             metrics: dict[str, list[float]] | None = None, user: str = USER, **fields: Any) -> str:
    """A finished run in the lab's store (params, tags, note through `fields`), with a snapshot
    of `notebook` when given."""
    store = open_store(server.store)
    run = nbtrack.start(name, store=store, notebook=str(notebook) if notebook else None, user=user, **fields)
    for key, values in (metrics or {}).items():
        for step, value in enumerate(values):
            run.log(step=step, **{key: value})
    if notebook is not None:
        record_snapshot(run, store, notebook)
    run.finish()
    return run.id


def open_lab(browser: Browser, server: LabServer, path: str = "lab") -> None:
    page = browser.page
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(server.page_url(f"{path}?reset"))  # no tabs restored from other tests' sessions
    page.wait_for_selector(SIDEBAR_TAB, timeout=60_000)


def open_notebook(browser: Browser, server: LabServer, name: str) -> None:
    open_lab(browser, server, f"lab/tree/{name}")
    browser.page.wait_for_selector(".jp-NotebookPanel .nbtrack-toggle")
    browser.page.wait_for_function(JS_KERNEL_IDLE, timeout=60_000)


def open_sidebar(browser: Browser, all_runs: bool = False, filter_text: str | None = None) -> None:
    page = browser.page
    if not page.locator(SIDEBAR).is_visible():
        page.click(SIDEBAR_TAB)
    page.wait_for_selector(SIDEBAR, state="visible")
    if all_runs:
        page.click(f"{SIDEBAR} .nbtrack-scope-all")
    if filter_text is not None:
        page.fill(f"{SIDEBAR} .nbtrack-filter", filter_text)
    scope = "all" if all_runs else "notebook"
    page.wait_for_function(  # the list shows this scope and filter (or the filter's error)
        """([scope, text]) => {
          const list = document.querySelector('#nbtrack-runs .nbtrack-runs-list');
          const error = document.querySelector('#nbtrack-runs .nbtrack-filter-error');
          return (list.dataset.scope === scope && list.dataset.filter === text) || !error.hidden;
        }""",
        arg=[scope, (filter_text or "").strip()],
    )


def row(browser: Browser, run_id: str) -> Any:
    return browser.page.locator(f'{ROWS}[data-run-id="{run_id}"]')


def action(browser: Browser, name: str) -> Any:
    """The sidebar toolbar's button for `name` (compare, diff, replay, open)."""
    return browser.page.locator(f"{SIDEBAR} .nbtrack-action-{name} .jp-ToolbarButtonComponent")


def command(browser: Browser, command_id: str, args: dict[str, Any] | None = None) -> Any:
    return browser.page.evaluate("([c, a]) => window.jupyterapp.commands.execute(c, a)", [command_id, args or {}])


def luminance(css_color: str) -> float:
    """Relative luminance (0 black .. 1 white) of a computed color: `rgb(...)`, `rgba(...)` or
    `color(srgb r g b)` (what color-mix() computes to)."""
    values = [float(v) for v in re.findall(r"[\d.]+", css_color)[:3]]
    r, g, b = values if css_color.startswith("color(") else [v / 255 for v in values]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def background_of(browser: Browser, selector: str) -> float:
    """The luminance of the first non-transparent background at or above `selector`."""
    return luminance(background_color(browser, selector))


def background_color(browser: Browser, selector: str) -> str:
    """The first non-transparent computed background color at or above `selector`."""
    return browser.page.evaluate(  # type: ignore[no-any-return]
        """(sel) => {
          let node = document.querySelector(sel);
          while (node) {
            const bg = getComputedStyle(node).backgroundColor;
            if (bg && !/rgba\\(.*,\\s*0\\)$/.test(bg) && bg !== 'transparent') return bg;
            node = node.parentElement;
          }
          return 'rgb(255, 255, 255)';
        }""",
        selector,
    )


def shoot(browser: Browser, name: str, dark_checks: Iterable[str] = ()) -> None:
    """docs/images/NAME-light.png and NAME-dark.png; in the dark theme, each of `dark_checks`
    (selectors) must sit on a dark background."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    page = browser.page
    page.mouse.move(0, 999)  # no hover effect or tooltip in the picture
    page.screenshot(path=str(IMAGES / f"{name}-light.png"))
    set_theme(browser, dark=True)
    try:
        for selector in dark_checks:
            color = background_color(browser, selector)
            assert luminance(color) < 0.35, f"{selector} has a light background ({color}) in the dark theme"
        page.screenshot(path=str(IMAGES / f"{name}-dark.png"))
    finally:
        set_theme(browser, dark=False)


def assert_console_clean(browser: Browser, expected_statuses: Iterable[int] = ()) -> None:
    """No console error but the network errors a test provoked on purpose (their statuses)."""
    allowed = set(expected_statuses)
    unexpected = [e for e in browser.console_errors
                  if not ((m := NETWORK_ERROR.match(e)) and int(m.group(1)) in allowed)]
    assert unexpected == [], unexpected
