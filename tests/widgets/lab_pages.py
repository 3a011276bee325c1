"""Driving notebooks with nbtrack widgets in the real JupyterLab of tests/browser.py: write and
run a notebook, find a cell's output, sample what the charts draw while a cell runs, read the
colours a reader sees, switch theme, and write the light and dark screenshots the docs show
(docs/images/NAME-light.png and NAME-dark.png at 1600x1000)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import nbformat

from tests.browser import JS_NOTEBOOK_IDLE, Browser, LabServer, set_theme

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
HOSTILE = "<img src=x onerror=alert(1)>"
VIEWPORT = {"width": 1600, "height": 1000}
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"

JS_ALL_RAN = f"""() => {{
  const prompts = [...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}}"""

# Every `every` ms until cell `index` has run (or `limit` ms): the time, whether the cell still
# runs, whether cell `target` shows a widget yet, and how many points its charts and tiles
# draw (their data-drawn, set in uPlot's draw hook).
JS_SAMPLE_DRAWN = f"""async ([index, target, every, limit]) => {{
  const cells = () => document.querySelectorAll('{NOTEBOOK} .jp-CodeCell');
  const drawn = () => {{
    const cell = cells()[target];
    if (!cell) return 0;
    let n = 0;
    for (const node of cell.querySelectorAll('.nbw-chart[data-drawn], .nbw-tile[data-drawn]')) {{
      const value = JSON.parse(node.dataset.drawn);
      n += typeof value === 'number' ? value : Object.values(value).reduce((a, b) => a + b, 0);
    }}
    return n;
  }};
  const samples = [];
  const began = Date.now();
  let ran = false;
  while (Date.now() - began < limit) {{
    const prompt = cells()[index] && cells()[index].querySelector('.jp-InputPrompt');
    const running = !!prompt && prompt.textContent.includes('*');
    ran = ran || running;
    const shown = !!(cells()[target] && cells()[target].querySelector('.nbw-root'));
    samples.push({{ t: Date.now(), running, shown, drawn: drawn() }});
    if (ran && !running) break;
    await new Promise(r => setTimeout(r, every));
  }}
  return samples;
}}"""

# The colour a reader sees behind `node`: its background composed over its ancestors'.
JS_BACKGROUND = """(node) => {
  const layers = [];
  for (let n = node; n; n = n.parentElement) {
    const m = getComputedStyle(n).backgroundColor.match(/rgba?\\(([^)]+)\\)/);
    if (!m) continue;
    const [r, g, b, a = 1] = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    if (a > 0) layers.push([r, g, b, a]);
    if (a >= 1) break;
  }
  let out = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) out = [r, g, b].map((c, i) => c * a + out[i] * (1 - a));
  return out;
}"""
JS_COLOR = """(node) => getComputedStyle(node).color.match(/[\\d.]+/g).slice(0, 3).map(Number)"""

# How many pixels of a chart's canvas are drawn in the colour of its series `i`.
JS_SERIES_PIXELS = """([chart, i]) => {
  const canvas = chart.querySelector('canvas');
  const probe = document.createElement('span');
  probe.style.color = `var(--nbw-series-${i})`;
  chart.appendChild(probe);
  const [r, g, b] = getComputedStyle(probe).color.match(/[\\d.]+/g).map(Number);
  probe.remove();
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let p = 0; p < data.length; p += 4) {
    if (data[p + 3] > 200 && Math.abs(data[p] - r) + Math.abs(data[p + 1] - g) + Math.abs(data[p + 2] - b) < 40) n++;
  }
  return n;
}"""


def write_notebook(path: Path, sources: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)


def run_notebook(browser: Browser, server: LabServer, sources: list[str], wide: bool = False) -> str:
    """Open a new notebook of `sources` and start running all its cells (not awaited); `wide`
    uses the docs' 1600x1000 window with the left panel closed."""
    name = f"widgets-{uuid.uuid4().hex[:8]}.ipynb"
    write_notebook(Path(server.root) / name, sources)
    page = browser.page
    if wide:
        page.set_viewport_size(VIEWPORT)
    page.goto(server.page_url(f"lab/tree/{name}?reset"))  # no tabs restored from earlier tests
    page.wait_for_selector(NOTEBOOK, timeout=60_000)
    page.wait_for_function(JS_NOTEBOOK_IDLE, arg=name, timeout=60_000)
    if wide:
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    # not awaited: the promise settles only when every cell has run
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    return name


def cell(browser: Browser, index: int) -> Any:  # a playwright Locator
    return browser.page.locator(f"{NOTEBOOK} .jp-CodeCell").nth(index)


def printed(browser: Browser, index: int) -> str:
    """What cell `index` printed (its stdout outputs)."""
    outputs = cell(browser, index).locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]')
    return "".join(outputs.all_inner_texts())


def sample_drawn(browser: Browser, index: int, target: int | None = None, every: int = 20,
                 limit: int = 90_000) -> list[dict[str, Any]]:
    """Samples of what cell `target`'s charts draw while cell `index` runs (see above)."""
    return list(browser.page.evaluate(JS_SAMPLE_DRAWN, [index, index if target is None else target, every, limit]))


def luminance(rgb: list[float]) -> float:
    return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255


def background(locator: Any) -> list[float]:
    return list(locator.evaluate(JS_BACKGROUND))


def text_color(locator: Any) -> list[float]:
    return list(locator.evaluate(JS_COLOR))


def assert_readable(locator: Any, dark: bool) -> None:
    """Light text on a dark background in the dark theme, the reverse in the light one."""
    back, front = luminance(background(locator)), luminance(text_color(locator))
    if dark:
        assert back < 0.3 and front > 0.6, (back, front)
    else:
        assert back > 0.7 and front < 0.4, (back, front)


def shoot(browser: Browser, name: str, top: Any, readable: list[Any] = ()) -> None:  # type: ignore[assignment]
    """docs/images/NAME-light.png and NAME-dark.png with `top` at the top of the notebook; each
    locator of `readable` must read well in both themes (its own text on what shows behind)."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    page = browser.page
    top.evaluate("(node) => node.scrollIntoView({block: 'start'})")
    page.mouse.move(1, 999)  # no hover effect or tooltip in the picture
    page.wait_for_timeout(300)
    for locator in readable:
        assert_readable(locator, dark=False)
    page.screenshot(path=str(IMAGES / f"{name}-light.png"))
    set_theme(browser, dark=True)
    try:
        top.evaluate("(node) => node.scrollIntoView({block: 'start'})")
        for locator in readable:
            assert_readable(locator, dark=True)
        page.screenshot(path=str(IMAGES / f"{name}-dark.png"))
    finally:
        set_theme(browser, dark=False)
