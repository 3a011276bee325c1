"""API misuse is one line that says what to do: the verbs that write to the active run, called
without one, raise NoActiveRun naming `%nbtrack start` and `nbtrack.start()`; a notebook shows
that line alone (no traceback), a script gets an ordinary exception with its traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import nbtrack
from nbtrack.api.write import NoActiveRun

VERBS = {
    "log": lambda: nbtrack.log(loss=1.0),
    "log_params": lambda: nbtrack.log_params(lr=0.1),
    "log_artifact": lambda: nbtrack.log_artifact(b"weights"),
    "track_data": lambda: nbtrack.track_data("."),
    "note": lambda: nbtrack.note("a note"),
    "tag": lambda: nbtrack.tag("a-tag"),
    "log_confusion_matrix": lambda: nbtrack.log_confusion_matrix([0, 1], [0, 1]),
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_verbs_without_a_run_say_how_to_start_one(verb: str, tmp_path: Path) -> None:
    with pytest.raises(NoActiveRun) as caught:
        VERBS[verb]()
    message = str(caught.value)
    assert message == f"nbtrack.{verb}(): no active run. Start one with `%nbtrack start` or `nbtrack.start()`."
    assert isinstance(caught.value, RuntimeError)  # code that caught RuntimeError still does
    with nbtrack.start("then", store=tmp_path / "store"):
        nbtrack.log(loss=1.0)  # the same verbs work once a run is active
    with pytest.raises(NoActiveRun):
        VERBS[verb]()  # and not after it finished


@pytest.mark.slow
def test_a_notebook_shows_one_line_a_script_a_traceback(
    tmp_path: Path, child_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import nbtrack\nnbtrack.log(loss=0.5)"),
                nbformat.v4.new_code_cell("nbtrack.note('x')")]
    env = {**child_env, "NBTRACK_STORE": str(tmp_path / "store")}
    for name, value in env.items():  # the kernel inherits this process's environment
        monkeypatch.setenv(name, value)
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell, verb in zip(nb.cells, ("log", "note")):
        (error,) = [o for o in cell.outputs if o.output_type == "error"]
        assert error.ename == "NoActiveRun"
        assert [ANSI.sub("", line) for line in error.traceback] == [
            f"NoActiveRun: nbtrack.{verb}(): no active run. Start one with `%nbtrack start` or `nbtrack.start()`."]
    script = subprocess.run([sys.executable, "-c", "import nbtrack\nnbtrack.log(loss=0.5)"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert script.returncode == 1
    assert script.stderr.startswith("Traceback (most recent call last):")
    assert script.stderr.rstrip().endswith(
        "NoActiveRun: nbtrack.log(): no active run. Start one with `%nbtrack start` or `nbtrack.start()`.")
