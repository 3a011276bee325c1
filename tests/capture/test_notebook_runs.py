"""Real kernels executing fixture notebooks under %nbtrack: what lands in the store."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from nbtrack.api import Run, get_run
from nbtrack.store.store import open_store
from tests.capture.kernels import NOTEBOOKS, execute_fixture

pytestmark = pytest.mark.slow


def only_run(store: Path) -> Run:
    opened = open_store(str(store))
    ids = opened.run_ids()
    assert len(ids) == 1, ids
    return get_run(ids[0], opened)


def code_sources(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_sklearn_notebook_under_papermill_is_captured_whole(store_path: Path, tmp_path: Path) -> None:
    import papermill

    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(NOTEBOOKS / "train_sklearn.ipynb"), str(out), parameters={"C": 0.5},
                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    executed = nbformat.read(out, as_version=4)
    run = only_run(store_path)

    assert run.status == "finished" and run.name == "sklearn logistic" and "fixture" in run.tags
    assert run.notes == ["trained by the capture tests"]
    # params: the tagged cell's defaults, overridden by papermill's injected cell
    assert run.params == {"C": 0.5, "max_iter": 200, "seed": 0}
    # every cell from %nbtrack start to %nbtrack stop, in order, with its outputs
    tracked = code_sources(executed)[code_sources(executed).index(run.cells[0]["source"]):]
    assert [c["source"] for c in run.cells] == tracked
    assert [c["seq"] for c in run.cells] == list(range(len(tracked)))
    assert all(c["ok"] and c["duration"] >= 0 and c["started"] <= c["ts"] for c in run.cells)
    train = run.cells[2]
    stdout = run.cell_outputs(train)[0]
    assert stdout["name"] == "stdout" and stdout["text"].startswith("test accuracy: 0.9")
    shown = run.cell_outputs(run.cells[3])
    assert shown[0]["output_type"] == "display_data" and shown[0]["data"]["text/html"] == "<b>done</b>"
    assert shown[1]["output_type"] == "execute_result" and float(shown[1]["data"]["text/plain"]) > 0.9
    assert run.metrics["key"].tolist() == ["accuracy"]
    # environment
    env = run.environment()
    assert env is not None and env["packages"]["scikit-learn"] and env["python"]["version"]
    assert env["kernel"]["name"] == "python3" and env["cpu_count"] >= 1
    # the snapshot: a valid notebook whose code equals the executed notebook's
    # papermill's Python API tells the kernel nothing: the notebook is found in its working folder
    # (papermill's output, the newest holding every cell that ran), so the markdown is kept
    assert run.snapshots[-1]["reason"] == "stop" and run.snapshots[-1]["source"] == "disk"
    assert run.snapshots[-1]["path"] == str(out) and run.records[0]["notebook"] == str(out)
    snapshot = run.notebook()
    nbformat.validate(snapshot)
    assert [c.cell_type for c in snapshot.cells] == [c.cell_type for c in executed.cells]
    assert snapshot.cells[0].source == "# Train a small classifier under nbtrack"
    assert [s.rstrip() for s in code_sources(snapshot)] == [s.rstrip() for s in code_sources(executed)]
    assert not any("nbtrack" in c.metadata and c.metadata["nbtrack"].get("unsaved") for c in snapshot.cells)
    tags = {c.source.split("\n")[0]: c.metadata.get("tags") for c in snapshot.cells}
    assert tags["C = 1.0"] == ["parameters"] and tags["# Parameters"] == ["injected-parameters"]
    header = run.records[0]
    assert header["kernel_name"] == "python3" and "kernel_id" not in header  # no Jupyter server here


def test_secrets_printed_never_reach_the_store(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_TEST_API_TOKEN", "tok-9f8e7d6c5b4a39281706")
    execute_fixture("secrets.ipynb", tmp_path)
    run = only_run(store_path)
    assert run.status == "finished" and len(run.cells) == 6
    secrets = [b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", b"tok-9f8e7d6c5b4a39281706", b"AKIAIOSFODNN7EXAMPLE",
               b"Hunter2Hunter2", b"ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", b"dozjgNryP4J3jVmNHl0w5N",
               b"CorrectHorseBatteryStaple", b"S3cretDbPassw0rd"]
    files = [p for p in store_path.rglob("*") if p.is_file()]
    assert len(files) > 5
    for path in files:
        data = path.read_bytes()
        leaked = [s for s in secrets if s in data]
        assert not leaked, f"{path.relative_to(store_path)} holds {leaked}"
    printed = run.cell_outputs(run.cells[1])[0]["text"]
    assert printed == "AWS_SECRET_ACCESS_KEY=[REDACTED]\n[REDACTED]\n"
    assert "postgres://admin:[REDACTED]@db.internal" in run.cell_outputs(run.cells[2])[0]["text"]
    assert "[REDACTED]" in json.dumps(run.notebook().cells[4].source)


def test_a_cell_error_is_recorded_and_the_run_continues(store_path: Path, tmp_path: Path) -> None:
    nb = execute_fixture("exception.ipynb", tmp_path, allow_errors=True)
    run = only_run(store_path)
    assert run.status == "finished"
    failed = [c for c in run.cells if not c["ok"]]
    assert len(failed) == 1
    error = failed[0]["error"]
    assert error["ename"] == "ValueError" and error["evalue"] == "bad value 42"
    assert any("raise ValueError" in line for line in error["traceback"])
    assert run.cell_outputs(failed[0])[-1]["output_type"] == "error"
    after = run.cells[run.cells.index(failed[0]) + 1]
    assert after["ok"] and run.cell_outputs(after)[0]["text"] == "after the error 2\n"
    assert nb.cells[4].outputs[0]["text"] == "after the error 2\n"


def test_a_failing_hook_is_reported_once_and_the_notebook_runs_on(store_path: Path, tmp_path: Path) -> None:
    nb = execute_fixture("hook_failure.ipynb", tmp_path)
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]
    everything = "".join(texts)
    assert everything.count("nbtrack: cell capture stopped after an internal error") == 1
    assert "RuntimeError: injected hook failure" in texts[3]
    assert texts[4] == "still running 2\n" and texts[5] == "and still 3\n"
    assert all(o.output_type != "error" for c in nb.cells for o in c.outputs)
    run = only_run(store_path)
    assert run.status == "finished"
    assert [c["source"] for c in run.cells] == [nb.cells[1].source, nb.cells[2].source]
    # the run still ends with its snapshot: the cells captured before the failure, rebuilt
    assert [s["reason"] for s in run.snapshots] == ["start", "stop"]
    assert [(c.source, c.execution_count) for c in run.notebook().cells] == [
        (nb.cells[0].source, 1), (nb.cells[1].source, 2), (nb.cells[2].source, 3)]
