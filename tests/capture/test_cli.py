"""`nbtrack demo` end to end, `nbtrack show RUN --notebook OUT`, and `nbtrack diff` with the
environment and cell sections."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import nbtrack
from nbtrack.api import get_run
from nbtrack.cli import main
from nbtrack.core import records
from nbtrack.store.store import open_store
from tests.capture.kernels import ROOT


@pytest.mark.slow
def test_demo_runs_end_to_end_and_its_snapshot_reads_back(tmp_path: Path, child_env: dict[str, str]) -> None:
    store = tmp_path / "store"
    child_env.pop("NBTRACK_STORE", None)
    done = subprocess.run([sys.executable, "-m", "nbtrack", "--store", str(store), "demo"], cwd=ROOT,
                          env=child_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "demo forest" in done.stdout and "finished" in done.stdout
    opened = open_store(str(store))
    (run_id,) = opened.run_ids()
    run = get_run(run_id, opened)
    assert run.params == {"seed": 0, "n_estimators": 25} and run.tags == ["demo"]
    assert run.metrics["key"].nunique() == 2 and run.environment() is not None
    assert run.warnings == []  # the parameters cell ran before start, but its values are the run's params
    out = tmp_path / "snapshot.ipynb"
    shown = subprocess.run(
        [sys.executable, "-m", "nbtrack", "--store", str(store), "show", run_id[:8], "--notebook", str(out)],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    snapshot = nbformat.read(out, as_version=4)
    nbformat.validate(snapshot)
    assert run.snapshots[-1]["source"] == "disk"
    assert [c.cell_type for c in snapshot.cells] == ["markdown", "code", "code", "code", "code", "code"]
    assert snapshot.cells[1].metadata["tags"] == ["parameters"]
    assert "test accuracy" in snapshot.cells[4].outputs[-1]["text"]


def make_run(store: Path, name: str, sources: list[str], env_edit: dict[str, str | None]) -> str:
    run = nbtrack.start(name, store=str(store))
    run.flush()
    env = run.store.get_json([r for r in get_run(run.id, run.store).records_of("env")][-1]["sha256"])
    for package, version in env_edit.items():
        if version is None:
            env["packages"].pop(package, None)
        else:
            env["packages"][package] = version
    run.write(records.env(run.store.put_json(env)))
    for seq, source in enumerate(sources):
        run.write(records.cell(seq, None, seq + 1, source, 0.0, 0.0, None, None))
    run.finish()
    return run.id


def test_diff_shows_environment_and_cell_differences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    a = make_run(store, "a", ["x = 1", "y = x + 1", "print(y)"], {"left-only": "1.0", "shared-pkg": "1.0"})
    b = make_run(store, "b", ["x = 2", "y = x + 1", "print(y)", "plot(y)"], {"shared-pkg": "2.0", "right-only": "0.1"})
    capsys.readouterr()
    assert main(["--store", str(store), "diff", a, b]) == 0
    out = capsys.readouterr().out
    assert "package changed  shared-pkg: 1.0 -> 2.0" in out
    assert "package added    right-only:  -> 0.1" in out and "package removed  left-only: 1.0 -> " in out
    assert "-x = 1" in out and "+x = 2" in out and "added    cell 4: plot(y)" in out
    assert main(["--store", str(store), "diff", a, b, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {c["key"] for c in data["environment"]["packages"]} == {"left-only", "shared-pkg", "right-only"}
    assert [c["kind"] for c in data["cells"]] == ["changed", "added"]
    assert main(["--store", str(store), "show", a]) == 0
    shown = capsys.readouterr().out
    assert "cells    3 executed\n" in shown and "env      Python 3." in shown


def test_show_notebook_without_snapshot_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    run = nbtrack.start("bare", store=str(store))
    run.finish()
    assert main(["--store", str(store), "show", run.id, "--notebook", str(tmp_path / "o.ipynb")]) == 2
    assert "has no snapshot" in capsys.readouterr().err
