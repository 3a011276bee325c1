"""The %nbtrack magic and the cell hooks in an in-process IPython shell (fast; the real-kernel
tests are in tests/capture/)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbtrack
from nbtrack.api import get_run
from nbtrack.store.store import open_store


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("NBTRACK_NOTEBOOK", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    ip = InteractiveShell.instance()
    ip.run_cell("%load_ext nbtrack", store_history=True)
    yield ip
    ip.run_cell("%unload_ext nbtrack")
    InteractiveShell.clear_instance()


def last_run(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = open_store(str(tmp_path / "store"))
    return get_run(opened.run_ids()[-1], opened)


def test_start_record_stop(shell: InteractiveShell, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_cell("lr = 0.1", store_history=True)
    shell.run_cell('%nbtrack start "in process" --tag t1 --tag t2 --note "a note"', store_history=True)
    shell.run_cell("y = lr * 2\nprint('y is', y)", store_history=True)
    shell.run_cell("undefined_name", store_history=True)
    shell.run_cell("%nbtrack note 'later thought'", store_history=True)
    shell.run_cell("%nbtrack stop", store_history=True)
    run = last_run(tmp_path)
    assert run.status == "finished" and run.tags == ["t1", "t2"] and run.notes == ["a note", "later thought"]
    assert [c["source"] for c in run.cells] == [
        '%nbtrack start "in process" --tag t1 --tag t2 --note "a note"', "y = lr * 2\nprint('y is', y)",
        "undefined_name", "%nbtrack note 'later thought'", "%nbtrack stop"]
    assert run.cells[2]["error"]["ename"] == "NameError" and not run.cells[2]["ok"]
    assert [w["kind"] for w in run.warnings] == ["pre_start_state"]
    assert [c.source for c in run.notebook().cells][:2] == ["%load_ext nbtrack", "lr = 0.1"]
    assert nbtrack.active_run() is None


def test_usage_errors_are_one_line(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    for line in ("%nbtrack", "%nbtrack start --tag", "%nbtrack stop now", "%nbtrack status extra", "%nbtrack note"):
        result = shell.run_cell(line)
        assert result.success, line
        err = capsys.readouterr().err
        assert err.startswith("nbtrack: ") and err.count("\n") == 1, (line, err)
    shell.run_cell("%nbtrack stop")
    assert capsys.readouterr().out == "nbtrack: no active run to stop\n"


def test_status_lists_run_and_warnings(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_cell("%nbtrack status")
    assert "no active run" in capsys.readouterr().out
    shell.run_cell("%nbtrack start s")
    shell.run_cell("%nbtrack status")
    out = capsys.readouterr().out
    assert "running for" in out and "rebuilt from the captured cells" in out and "warnings: none" in out
    shell.run_cell("%nbtrack stop")


def test_unload_removes_hooks_and_stream_tees(shell: InteractiveShell) -> None:
    shell.run_cell("%nbtrack start x")
    shell.run_cell("%unload_ext nbtrack")
    assert nbtrack.active_run() is None
    callbacks = shell.events.callbacks["pre_run_cell"] + shell.events.callbacks["post_run_cell"]
    assert not any("nbtrack" in getattr(cb, "__module__", "") for cb in callbacks)
    assert not getattr(sys.stdout.write, "_nbtrack_tee", False)
    shell.run_cell("%load_ext nbtrack")


def test_rebuilt_notebook_keeps_each_pre_start_cell_once_with_its_count(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    for source in ("a = 1", "b = 2", "a = 1"):
        shell.run_cell(source, store_history=True)
    shell.run_cell("%nbtrack start r", store_history=True)
    shell.run_cell("%nbtrack stop", store_history=True)
    cells = last_run(tmp_path).notebook().cells
    assert [(c.source, c.execution_count) for c in cells] == [
        ("%load_ext nbtrack", 1), ("b = 2", 3), ("a = 1", 4), ("%nbtrack start r", 5), ("%nbtrack stop", 6)]


def test_rebuilt_notebook_tags_the_parameters_cells_as_the_run_understood_them(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    """No file, no frontend tags: papermill's injected cell and the cell before it are recognised,
    and the rebuilt snapshot tags them, so a replay injects its parameters after them."""
    shell.run_cell("alpha = 1\nbeta = 2", store_history=True)
    shell.run_cell("# Parameters\nalpha = 5\n", store_history=True)
    shell.run_cell("%nbtrack start r", store_history=True)
    shell.run_cell("%nbtrack stop", store_history=True)
    run = last_run(tmp_path)
    assert run.params == {"alpha": 5, "beta": 2}
    cells = run.notebook().cells
    assert [(c.source, c.metadata.get("tags")) for c in cells[1:3]] == [
        ("alpha = 1\nbeta = 2", ["parameters"]), ("# Parameters\nalpha = 5", ["injected-parameters"])]
