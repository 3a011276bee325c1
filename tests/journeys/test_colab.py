"""Colab: a real kernel driven as Colab's page drives it. Only Colab's frontend and its
``google.colab`` package are stand-ins (tests/colab/frontend.py, tests/fakes/google/colab):
Colab itself cannot run here. The notebook reaches the kernel only through Colab's
``get_ipynb`` request, which returns the live notebook, never a file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import nbtrack
from tests.colab.frontend import ColabFrontend, colab_notebook, fake_colab_path
from tests.journeys.frontend import code_sources, unsaved

pytestmark = pytest.mark.slow


def test_colab_records_what_ran_and_marks_a_cell_edited_after_it_ran(tmp_path: Path,
                                                                      child_env: dict[str, str]) -> None:
    store = tmp_path / "store"
    notebook = colab_notebook([
        ("markdown", "# Colab journey"),
        ("code", "lr = 0.1\nepochs = 2"),
        ("code", "%load_ext nbtrack"),
        ("code", f"%nbtrack start 'colab journey' --store {store}"),
        ("code", "import nbtrack\nfor i in range(epochs):\n    nbtrack.log(step=i, loss=lr / (i + 1))"),
        ("code", "%nbtrack status"),
        ("code", "%nbtrack stop"),
    ])
    notebook["cells"][1]["metadata"]["tags"] = ["parameters"]
    env = child_env | {"PYTHONPATH": fake_colab_path() + os.pathsep + child_env["PYTHONPATH"], "NBTRACK_USER": "ana"}
    frontend = ColabFrontend(notebook, env, tmp_path)
    try:
        frontend.run(1, 2, 3, 4)
        frontend.edit(1, "lr = 0.3\nepochs = 2")  # typed after it ran, not run again
        frontend.run(5, 6)
    finally:
        frontend.close()

    [run_id] = nbtrack.runs(store=str(store))["id"]
    run = nbtrack.get_run(run_id, str(store))
    assert run.params == {"lr": 0.1, "epochs": 2}  # what ran, from the parameters cell before the start
    assert run.history()["loss"].tolist() == [0.1, 0.05]
    assert [c["source"] for c in run.cells] == [f"%nbtrack start 'colab journey' --store {store}",
                                                 code_sources_of(notebook)[3], "%nbtrack status", "%nbtrack stop"]
    assert run.snapshots[-1]["source"] == "colab" and "get_ipynb" in frontend.requests
    snapshot = run.notebook()
    assert snapshot.cells[0].cell_type == "markdown" and snapshot.cells[0].source == "# Colab journey"
    assert code_sources(snapshot)[0] == "lr = 0.1\nepochs = 2"
    assert unsaved(snapshot) == {"lr = 0.1\nepochs = 2": "lr = 0.3\nepochs = 2"}
    assert [w["kind"] for w in run.warnings] == ["edited_after_run"]
    assert "edited_after_run" in frontend.text_of(5)


def code_sources_of(notebook: dict) -> list[str]:
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
