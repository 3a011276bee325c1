"""Stores of runs for the report tests, written through the public API with what capture
records beside it (a notebook snapshot stored as capture stores it, redacted; a warning; a
replay's report), so every section of a report has something to show."""

from __future__ import annotations

import math
import os
from pathlib import Path

import nbformat

import nbtrack
from nbtrack.api.data import default_name
from nbtrack.core import records
from nbtrack.core.redact import Redactor
from nbtrack.core.reproduce import CellComparison, Report
from nbtrack.core.snapshot import SnapshotWriter
from nbtrack.replay.report import store_report
from nbtrack.store.store import Store, open_store

HOSTILE = "<img src=x onerror=alert(1)>"
# planted secrets: a GitHub token in a cell's source, an API key in a param
CELL_TOKEN = "ghp_" + "Z3cr3tT0kenForTheReportTest0123456789"
PARAM_KEY = "sk-report-" + "PlantedParamSecret0042"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def notebook(path: Path, lr: float, extra: str = "") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Training\nA *small* model, $E = mc^2$."),
        nbformat.v4.new_code_cell(f'GITHUB_TOKEN = "{CELL_TOKEN}"\nlr = {lr}', execution_count=1),
        nbformat.v4.new_code_cell(
            f"print('loss', {1 - lr:.3f}){extra}", execution_count=2,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text=f"loss {1 - lr:.3f}\n"),
                     nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]),
        nbformat.v4.new_code_cell("import pandas as pd\npd.DataFrame({'a': [1, 2]})", execution_count=3,
                                  outputs=[nbformat.v4.new_output("execute_result", execution_count=3, data={
                                      "text/html": "<table><tr><th>a</th></tr><tr><td>1</td></tr></table>"
                                                   "<script>document.title='pwned'</script>"
                                                   "<img src='https://example.com/pixel.png' alt='pixel'>"
                                                   "<div style='background: url(https://example.com/bg.png)'>bg</div>"
                                                   "<style>@import url('https://example.com/x.css');</style>",
                                      "text/plain": "   a\n0  1"})]),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def snapshot(run: nbtrack.ActiveRun, store: Store, path: Path) -> None:
    manifest, cells = SnapshotWriter(store.put_blob, Redactor.from_environ()).store(nbformat.read(path, as_version=4))
    run.write(records.snapshot(manifest, cells, "finish", "disk", str(path)))


def training_run(store: Store, folder: Path, name: str, lr: float, steps: int = 300, extra: str = "",
                 confusion: bool = True) -> str:
    run = nbtrack.start(name, tags=["report", "faces"], note=f"does lr={lr} help?", store=store,
                        params={"lr": lr, "epochs": 3, "api_key": PARAM_KEY, "optimizer": "adam"})
    for i in range(steps):
        nbtrack.log(step=i, loss=1 / (1 + i * lr) + 0.02 * math.sin(i / 5), val_loss=1.1 / (1 + i * lr))
    nbtrack.log(step=steps, final_acc=0.9 + lr)
    if confusion:
        truth = ["cat", "dog", "bird", "dog"] * 10
        nbtrack.log_confusion_matrix(truth, ["cat", "dog", "cat", "bird"] * 10, step=1)
        nbtrack.log_confusion_matrix(truth, truth, step=steps)
    data = folder / f"data-{name[:3]}.csv"
    data.write_text("x,y\n1,2\n")
    nbtrack.track_data(str(data))
    if confusion:
        nbtrack.register_model(f"{default_name(name)}-model", b"weights")  # (version names are plain words)
    run.write(records.warning("out_of_order", "cell 3 ran before cell 2", ["c3"]))
    snapshot(run, store, notebook(folder / f"{abs(hash(name))}.ipynb", lr, extra))
    nbtrack.finish()
    return run.id


def replay_of(store: Store, original: str) -> str:
    """A replay run of `original` with a stored report that differs in one cell and one metric."""
    run = nbtrack.start("replay", store=store, replay_of=original, params={"lr": 0.1})
    nbtrack.log(step=0, loss=0.5)
    nbtrack.finish()
    report = Report(original, run.id,
                    [CellComparison(1, "print('loss', 0.9)", "different", ["- loss 0.900\n+ loss 0.910"], None, 2),
                     CellComparison(0, "lr = 0.1", "identical", [], None, 1)],
                    [{"key": "loss", "original": 0.9, "replay": 0.91, "status": "different"}])
    store_report(store, run.id, report)
    return run.id


def report_store(folder: Path) -> tuple[Store, list[str]]:
    """Two training runs (the second with the hostile name, other params and one changed cell)
    and a replay of the first."""
    os.environ.setdefault("NBTRACK_CAPTURE_ENV", "1")
    store = open_store(folder / "store")
    first = training_run(store, folder, "baseline", 0.1)
    second = training_run(store, folder, HOSTILE, 0.05, extra="\nprint('more')")
    replay_of(store, first)
    return store, [first, second]
