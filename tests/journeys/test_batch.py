"""Journeys of notebooks executed whole, unattended: papermill (its Python API and its command
line, with and without ``-p``) and nbclient, over realistic layouts (the parameters cell before
or after ``%nbtrack start``; figures, a widget, mixed stdout/stderr and the automatic live chart
in the outputs). What the run records must be what ran, whatever the layout.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import zlib
from pathlib import Path

import nbformat
import pytest

from tests.journeys.frontend import code_sources, make_notebook, the_run, unsaved

pytestmark = pytest.mark.slow

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def png(width: int, height: int, seed: int) -> bytes:
    """A real (noisy, so incompressible) RGB PNG of about 3 * width * height bytes."""
    import random

    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b"")


FIGURE = (
    "import base64\nfrom IPython.display import Image, display\n"
    "figure = base64.b64decode(open('figure.b64').read())\n"
    "display(Image(data=figure, format='png'))\nlen(figure)"
)
WIDGET = "import ipywidgets\nipywidgets.IntSlider(value=3)"
TRAIN = "import nbtrack\nfor step in range(epochs):\n    nbtrack.log(step=step, loss=lr / (step + 1))\nprint('trained')"
STREAMS = "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.stderr.flush()\nprint('out 2')"
START = '%load_ext nbtrack\n%nbtrack start "batch" --tag journey'


def layout(params_before_start: bool) -> nbformat.NotebookNode:
    params = ("code", "lr = 0.1\nepochs = 3", ["parameters"])
    cells = [("markdown", "# A batch run"), params, ("code", START)] if params_before_start else [
        ("markdown", "# A batch run"), ("code", START), params]
    return make_notebook([*cells, ("markdown", "## Results"), ("code", FIGURE), ("code", WIDGET), ("code", TRAIN),
                          ("code", STREAMS), ("code", "%nbtrack stop")])


def execute(runner: str, notebook: Path, output: Path, work: Path, parameters: dict) -> nbformat.NotebookNode:
    if runner == "papermill-api":
        import papermill

        papermill.execute_notebook(str(notebook), str(output), parameters=parameters, kernel_name="python3",
                                   cwd=str(work), progress_bar=False)
        return nbformat.read(output, as_version=4)
    if runner == "papermill-cli":
        flags = [word for key, value in parameters.items() for word in ("-p", key, str(value))]
        done = subprocess.run([sys.executable, "-m", "papermill", str(notebook), str(output), *flags, "-k", "python3",
                               "--cwd", str(work), "--no-progress-bar"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return nbformat.read(output, as_version=4)
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(work)}}).execute()
    return nb


@pytest.mark.parametrize("params_before_start", [True, False], ids=["params-before-start", "params-after-start"])
@pytest.mark.parametrize("runner,parameters", [
    ("papermill-api", {"lr": 0.5}), ("papermill-api", {}), ("papermill-cli", {"lr": 0.5}), ("papermill-cli", {}),
    ("nbclient", {}),
], ids=["papermill-api-p", "papermill-api", "papermill-cli-p", "papermill-cli", "nbclient"])
def test_unattended_run_records_what_ran(store_path: Path, tmp_path: Path, runner: str, parameters: dict,
                                         params_before_start: bool) -> None:
    source_dir, work = tmp_path / "notebooks", tmp_path / "work"
    source_dir.mkdir()
    work.mkdir()
    figure = png(400, 300, seed=1)
    (work / "figure.b64").write_text(base64.b64encode(figure).decode())
    # papermill's command line runs the kernel elsewhere than its output (found from its command
    # line); its Python API and nbclient run it in the notebook's folder (found by content)
    notebook = (work if runner == "nbclient" else source_dir) / "batch.ipynb"
    output = (tmp_path / "out" if runner == "papermill-cli" else work) / "batch-out.ipynb"
    output.parent.mkdir(exist_ok=True)
    nbformat.write(layout(params_before_start), notebook)
    executed = execute(runner, notebook, output, work, parameters)

    run = the_run(store_path)
    assert run.status == "finished" and run.tags == ["journey"]
    assert run.params == {"lr": 0.5 if parameters else 0.1, "epochs": 3}
    assert run.history()["loss"].tolist() == [run.params["lr"] / (i + 1) for i in range(3)]
    # every cell from the start on, in order, as it ran (papermill's injected cell included)
    sources = code_sources(executed)
    start = sources.index(START)
    assert [c["source"] for c in run.cells] == sources[start:]
    assert [c["execution_count"] for c in run.cells] == list(range(start + 1, len(sources) + 1))
    assert run.warnings == []
    # the snapshot: the notebook that ran (markdown kept), nothing marked unsaved
    snapshot = run.notebook()
    nbformat.validate(snapshot)
    assert run.snapshots[-1]["source"] == "disk"
    assert run.snapshots[-1]["path"] == str(output if runner != "nbclient" else notebook)
    assert run.records[0]["notebook"] == run.snapshots[-1]["path"]
    assert [(c.cell_type, c.source) for c in snapshot.cells] == [(c.cell_type, c.source) for c in executed.cells]
    assert unsaved(snapshot) == {}
    tagged = {t: [c.source for c in snapshot.cells if t in c.metadata.get("tags", [])]
              for t in ("parameters", "injected-parameters")}
    assert tagged["parameters"] == ["lr = 0.1\nepochs = 3"]
    assert len(tagged["injected-parameters"]) == (1 if parameters else 0)
    # outputs: the figure whole (in a blob of its own), the user's widget, streams apart,
    # and the live chart nowhere among them
    by_source = {c["source"]: c for c in run.cells}
    shown = run.cell_outputs(by_source[FIGURE])
    assert base64.b64decode(shown[0]["data"]["image/png"]) == figure and len(figure) > 300_000
    figure_cell = by_source[FIGURE]
    # the outputs and the image (beside the random state before the cell, when numpy's changed)
    assert len([r for r in figure_cell["refs"] if r != figure_cell.get("rng")]) == 2
    assert run.cell_outputs(by_source[STREAMS]) == [
        {"output_type": "stream", "name": "stdout", "text": "out\nout 2\n"},
        {"output_type": "stream", "name": "stderr", "text": "err\n"}]
    assert WIDGET_VIEW in run.cell_outputs(by_source[WIDGET])[0]["data"]
    everything = [o for c in run.cells for o in run.cell_outputs(c)] + [o for c in snapshot.cells
                                                                          for o in c.get("outputs", [])]
    assert not any("LiveCurves" in str(o) for o in everything)
    assert [o["output_type"] for o in run.cell_outputs(by_source[TRAIN])] == ["stream"]
    figure_cell = next(c for c in snapshot.cells if c.source == FIGURE)
    assert base64.b64decode(figure_cell.outputs[0]["data"]["image/png"]) == figure
    # the live chart was shown under the cell that logged first, and only there
    charted = [c.source for c in executed.cells for o in c.get("outputs", [])
               if o.get("metadata", {}).get("nbtrack", {}).get("own") == "live"]
    assert charted == [TRAIN]


def test_identical_figures_are_stored_once(store_path: Path, tmp_path: Path) -> None:
    """Five 1 MB figures, run twice: the second run adds no image bytes to the store."""
    import papermill

    work = tmp_path / "work"
    work.mkdir()
    for i in range(5):
        (work / f"figure{i}.b64").write_text(base64.b64encode(png(600, 580, seed=i)).decode())
    cells = [("code", START)] + [("code", FIGURE.replace("figure.b64", f"figure{i}.b64")) for i in range(5)]
    nbformat.write(make_notebook([*cells, ("code", "%nbtrack stop")]), work / "figures.ipynb")

    def store_bytes() -> int:
        return sum(p.stat().st_size for p in store_path.rglob("*") if p.is_file())

    sizes = []
    for attempt in range(2):
        papermill.execute_notebook(str(work / "figures.ipynb"), str(work / f"out{attempt}.ipynb"),
                                   kernel_name="python3", cwd=str(work), progress_bar=False)
        sizes.append(store_bytes())
    first, added = sizes[0], sizes[1] - sizes[0]
    assert first > 5 * 1_000_000  # each figure stored whole, not as a placeholder
    assert added < 300_000, f"the second run added {added} bytes"  # logs, small blobs; no image again
