"""Every example notebook, executed as a user runs it, with its key outcomes checked.

Each test copies ``example_notebooks/`` into a temporary folder with a store of its own,
executes one notebook with papermill in a real kernel (cwd: the copy, so relative paths work as
in JupyterLab), then reads the store back: runs recorded, statuses, params, metrics, artifacts,
replay verdicts, imported bundles. ``!nbtrack ...`` shell commands in the notebooks find an
``nbtrack`` executable that runs this checkout (as the installed console script would).
The PyTorch notebook runs only where torch is importable (extra ``examples-torch``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

import nbtrack
from nbtrack.api import Run
from nbtrack.store.store import Store, open_store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "example_notebooks"
GENERATED = (".nbtrack", "data", "runs", "team-store", "my-store", "model.pt", "*.nbtrack.zip",
             ".ipynb_checkpoints", "*.replay-*.ipynb", "__pycache__")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CELL_TIMEOUT = 300  # seconds for one cell; the notebooks take well under two minutes in all
SHELL_FAILURES = ("command not found", "No such file or directory", "Traceback (most recent call last)",
                  "usage: nbtrack", "nbtrack: error")


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the examples folder with its own store; kernels started now inherit this
    environment (this checkout importable, an `nbtrack` command on PATH)."""
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns(*GENERATED))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "nbtrack"
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom nbtrack.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("NBTRACK_STORE", str(folder / ".nbtrack"))
    monkeypatch.delenv("NBTRACK_AUTO_LIVE", raising=False)
    yield folder


def execute(folder: Path, name: str, **parameters: Any) -> nbformat.NotebookNode:
    """Execute `name` in `folder` with papermill (as CI or a user would) and return the result;
    a cell that raises fails the test with papermill's error."""
    import papermill

    return papermill.execute_notebook(
        str(folder / name), str(folder / f"executed-{name}"), parameters=parameters, cwd=str(folder),
        kernel_name="python3", progress_bar=False, execution_timeout=CELL_TIMEOUT,
    )


def outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            elif output.get("output_type") in ("execute_result", "display_data"):
                parts.append(output.get("data", {}).get("text/plain", ""))
            elif output.get("output_type") == "error":
                parts.append(f"{output.get('ename')}: {output.get('evalue')}")
    return "\n".join(parts)


def shell_output(nb: nbformat.NotebookNode, command: str) -> str:
    """Everything the `!` cells containing `command` printed; fails if one of them failed."""
    texts = ["".join(o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream")
             for c in nb.cells if c.cell_type == "code" and command in c.source]
    assert texts, f"no cell runs {command!r}"
    text = "\n".join(texts)
    for failure in SHELL_FAILURES:
        assert failure not in text, f"{command!r} failed in the notebook:\n{text}"
    return text


def widget_views(nb: nbformat.NotebookNode, cell_source: str) -> int:
    cells = [c for c in nb.cells if c.cell_type == "code" and cell_source in c.source]
    assert cells, f"no cell contains {cell_source!r}"
    return sum(1 for c in cells for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {}))


def store_of(folder: Path, name: str = ".nbtrack") -> Store:
    return open_store(str(folder / name))


def runs_tagged(store: Store, tag: str) -> list[Run]:
    return [nbtrack.get_run(row, store) for row in nbtrack.runs(f"tag={tag}", store=store)["id"]]


def test_quickstart(examples: Path) -> None:
    nb = execute(examples, "01_quickstart.ipynb", max_depth=10)  # papermill injects it
    store = store_of(examples)
    [run] = runs_tagged(store, "quickstart")
    assert run.status == "finished"
    assert run.name == "digits forest"
    assert run.notes == ["how deep must a forest be for digits?"]
    assert run.params == {"n_estimators": 60, "max_depth": 10, "seed": 0}
    history = run.history()
    assert list(history.index) == list(range(5, 61, 5))
    assert history["test_acc"].dropna().iloc[-1] > 0.9
    assert run.summary()["metrics"]["accuracy"]["last"] > 0.9
    confusion = run.records_of("confusion")
    assert [c["step"] for c in confusion] == [20, 40, 60]
    assert all(len(c["matrix"]) == 10 for c in confusion)
    assert sum(map(sum, confusion[-1]["matrix"])) == 450  # every test image counted once
    sources = [c.source for c in run.notebook().cells if c.cell_type == "code"]
    assert any("RandomForestClassifier" in s for s in sources)
    assert len(run.cells) == 8 and all(c["ok"] for c in run.cells)  # start .. stop, each once
    assert run.warnings == []  # params came from the parameters cell, cells ran top to bottom
    assert widget_views(nb, "show_confusion_matrix()") == 1
    assert widget_views(nb, "nbtrack.show_live()") == 1
    assert widget_views(nb, "RandomForestClassifier(") == 0  # shown once, above
    table = next(c for c in nb.cells if c.source.startswith("runs = nbtrack.runs"))
    assert run.id in outputs_text(nbformat.v4.new_notebook(cells=[table]))


def test_pytorch_training(examples: Path) -> None:
    torch = pytest.importorskip("torch", reason="the PyTorch example needs the examples-torch extra")
    nb = execute(examples, "02_pytorch_training.ipynb", epochs=20)
    store = store_of(examples)
    [run] = runs_tagged(store, "torch")
    assert run.status == "finished"
    assert run.params["epochs"] == 20 and run.params["data_path"] == "data/digits.npz"
    history = run.history()
    assert list(history.index) == list(range(1, 21))
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0] / 3
    assert history["val_acc"].iloc[-1] > 0.9
    [data] = run.data
    assert data["path"].endswith("digits.npz") and len(data["sha256"]) == 64
    state = torch.load(run.artifact_path("model.pt"), weights_only=True)
    assert state["0.weight"].shape == (64, 64)
    assert widget_views(nb, "nbtrack.show_live(") == 1
    assert f"run {run.id}: finished; restored model accuracy" in outputs_text(nb)


def test_compare_and_leaderboard(examples: Path) -> None:
    nb = execute(examples, "03_compare_and_leaderboard.ipynb")
    store = store_of(examples)
    sweep = runs_tagged(store, "sweep")
    assert len(sweep) == 9 and {r.status for r in sweep} == {"finished"}
    assert {(r.params["alpha"], r.params["eta0"]) for r in sweep} == {
        (a, e) for a in (1e-4, 1e-3, 1e-2) for e in (0.001, 0.01, 0.1)}
    assert all(len(r.history()) == 15 for r in sweep)
    assert widget_views(nb, 'nbtrack.table("tag=sweep")') == 1
    assert widget_views(nb, "nbtrack.compare(best, worst)") >= 1
    listed = shell_output(nb, "!nbtrack runs")
    good = [r for r in sweep if r.summary()["metrics"]["val_acc"]["last"] > 0.95]
    assert 0 < len(good) < len(sweep) and all(r.id in listed for r in good)
    assert all(r.id not in listed for r in sweep if r not in good)
    diff = shell_output(nb, "!nbtrack diff").splitlines()
    # the two runs compared (best and worst by val_acc), and exactly the params they differ in
    by_id = {r.id: r for r in sweep}
    a, b = (by_id[line.split()[1]] for line in diff if line.startswith(("--- ", "+++ ")))
    assert a.summary()["metrics"]["val_acc"]["last"] == max(r.summary()["metrics"]["val_acc"]["last"] for r in sweep)
    assert b.summary()["metrics"]["val_acc"]["last"] == min(r.summary()["metrics"]["val_acc"]["last"] for r in sweep)
    changed = [line.split() for line in diff[diff.index("params:") + 1:] if line.startswith("  changed")]
    differing = {k for k in ("alpha", "eta0") if a.params[k] != b.params[k]}
    assert changed and {c[1].rstrip(":") for c in changed} == differing
    assert all([float(c[2]), float(c[4])] == [a.params[c[1].rstrip(":")], b.params[c[1].rstrip(":")]] for c in changed)


def test_replay(examples: Path) -> None:
    nb = execute(examples, "04_replay.ipynb")
    store = store_of(examples)
    wine = runs_tagged(store, "wine")
    [original] = [r for r in wine if not r.state.replay_of]
    replays = sorted((r for r in wine if r.state.replay_of == original.id), key=lambda r: r.id)
    assert original.status == "finished" and len(replays) == 3  # reproduce, re-target, CLI
    assert all(r.status == "finished" for r in replays)
    verdicts = [r.state.report["verdict"] for r in replays]
    assert verdicts[0] in ("reproduced", "reproduced within tolerance")
    assert verdicts[1] == "differs"
    assert verdicts[2] in ("reproduced", "reproduced within tolerance")
    assert replays[1].params["data_path"] == "data/wine_new_batch.csv"
    assert replays[1].data[0]["sha256"] != original.data[0]["sha256"]
    text = outputs_text(nb)
    assert "verdict: differs" in text
    # The replay's own kernel may print shutdown noise to stderr: judge the CLI by its exit code.
    [cli] = [c for c in nb.cells if c.cell_type == "code" and "!nbtrack replay" in c.source]
    cli_text = outputs_text(nbformat.v4.new_notebook(cells=[cli]))
    assert "verdict: reproduced" in cli_text and "exit code 0" in cli_text, cli_text


def test_team_store(examples: Path) -> None:
    nb = execute(examples, "05_team_store.ipynb")
    team = store_of(examples, "team-store")
    runs = nbtrack.runs("tag=team", store=team)
    assert sorted(runs["user"]) == ["ana", "ana", "ben", "ben"]
    assert set(runs["status"]) == {"finished"}
    assert widget_views(nb, 'nbtrack.table("tag=team"') == 1
    assert widget_views(nb, "def knn_run") == 0  # live charts switched off for one-number runs
    mine = store_of(examples, "my-store")
    assert sorted(nbtrack.runs(store=mine)["id"]) == sorted(runs["id"])  # bundle import, then sync
    exported = shell_output(nb, "!nbtrack --store my-store import")
    assert exported
    best = runs.sort_values("metrics.cv_accuracy.last").iloc[-1]["id"]
    original, copy = nbtrack.get_run(best, team), nbtrack.get_run(best, mine)
    assert [json.dumps(r, sort_keys=True) for r in copy.records] == [
        json.dumps(r, sort_keys=True) for r in original.records
    ]


def test_nbval_lax_route(examples: Path) -> None:
    """`pytest --nbval-lax example_notebooks/` works too (here on the quick start, which is fast)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "--rootdir", str(examples),
         "--nbval-cell-timeout", str(CELL_TIMEOUT), str(examples / "01_quickstart.ipynb")],
        cwd=examples, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
    # nbval tells the kernel nothing (no path, no tags, no injected cell): the run still records
    # the parameters cell that ran before %nbtrack start, from the notebook found in its folder
    [run] = runs_tagged(store_of(examples), "quickstart")
    assert run.status == "finished"
    assert run.params == {"n_estimators": 60, "max_depth": 12, "seed": 0}
    assert run.snapshots[-1]["path"] == str(examples / "01_quickstart.ipynb")
    assert [c.cell_type for c in run.notebook().cells] == [
        c.cell_type for c in nbformat.read(examples / "01_quickstart.ipynb", as_version=4).cells]
    assert run.warnings == []


def test_committed_notebooks_match_their_generator(tmp_path: Path) -> None:
    """The .ipynb files are what generate.py writes (no drift, no stored outputs)."""
    subprocess.run([sys.executable, str(EXAMPLES / "generate.py"), str(tmp_path)], check=True, capture_output=True)
    written = sorted(p.name for p in tmp_path.glob("*.ipynb"))
    assert written == sorted(p.name for p in EXAMPLES.glob("*.ipynb"))
    for name in written:
        assert (tmp_path / name).read_text() == (EXAMPLES / name).read_text(), (
            f"{name}: run example_notebooks/generate.py"
        )
        nb = nbformat.read(EXAMPLES / name, as_version=4)
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
