"""Colab end to end: a real kernel, driven as Colab's page drives it, with a stand-in for Colab's
``google.colab`` package and frontend (Colab itself cannot run here: see tests/fakes/google/colab
and tests/colab/frontend.py). The wire protocol, the kernel, nbtrack and the store are real."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import nbtrack
from nbtrack.capture.colab import normalise, unmounted_drive
from nbtrack.core.snapshot import load_notebook
from nbtrack.store.store import open_store
from tests.colab.frontend import ColabFrontend, colab_notebook, fake_colab_path

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.mark.slow
def test_colab_notebook_on_drive_end_to_end(tmp_path: Path, child_env: dict[str, str]) -> None:
    mount = tmp_path / "content" / "drive"
    store = mount / "MyDrive" / "team-runs"
    notebook = colab_notebook([
        ("markdown", "# Crowd faces\nOnly the frontend holds this cell."),
        ("code", "%load_ext nbtrack"),
        ("code", f"%nbtrack start 'colab run' --store {store}"),
        ("code", f"from google.colab import drive\ndrive.mount({str(mount)!r})"),
        ("code", f"%nbtrack start 'colab run' --tag colab --store {store}"),
        ("code", "import nbtrack\nfor i in range(5):\n    nbtrack.log(step=i, loss=1 / (i + 1))\nnbtrack.show_live()"),
        ("code", "%nbtrack stop"),
    ])
    env = child_env | {"PYTHONPATH": fake_colab_path() + os.pathsep + child_env["PYTHONPATH"], "NBTRACK_USER": "ana"}
    frontend = ColabFrontend(notebook, env, tmp_path)
    try:
        frontend.run_all()
    finally:
        frontend.close()

    # Drive not mounted yet: a clear message, and nothing written to the VM's disk
    assert "Google Drive is not mounted" in frontend.text_of(2) and "drive.mount(" in frontend.text_of(2)
    assert "finished the active run" not in frontend.text_of(4)  # the refused start began no run

    runs = nbtrack.runs(store=str(store))
    assert list(runs["name"]) == ["colab run"] and list(runs["status"]) == ["finished"]
    assert list(runs["user"]) == ["ana"]
    run = nbtrack.get_run(runs["id"][0], store=str(store))
    assert run.metrics[run.metrics.key == "loss"].value.tolist() == [1 / (i + 1) for i in range(5)]

    # the snapshot came from Colab's notebook API: it holds the markdown cell the kernel never saw
    assert "get_ipynb" in frontend.requests
    snapshots = run.records_of("snapshot")
    assert snapshots, "no snapshot recorded"
    snap = load_notebook(open_store(str(store)).get_blob, snapshots[-1]["manifest"])
    assert snap["cells"][0]["cell_type"] == "markdown"
    assert snap["cells"][0]["source"] == "# Crowd faces\nOnly the frontend holds this cell."
    assert "colab" in snap["metadata"]
    assert [c["source"] for c in snap["cells"] if c["cell_type"] == "code"][-2].startswith("import nbtrack")

    # widgets go through Colab's custom widget manager
    views = [o for o in notebook["cells"][5]["outputs"] if WIDGET in o.get("data", {})]
    assert views, notebook["cells"][5]["outputs"]
    assert "custom_widget_manager" in views[0]["metadata"][WIDGET]["colab"]


def test_unmounted_drive_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    store = tmp_path / "content" / "drive" / "MyDrive" / "runs"
    message = unmounted_drive(store)
    assert message is not None and "drive.mount(" in message
    with pytest.raises(FileNotFoundError, match="Google Drive is not mounted"):
        nbtrack.start(store=str(store))
    assert not (tmp_path / "content").exists()
    (tmp_path / "content" / "drive" / "MyDrive").mkdir(parents=True)  # mounted
    assert unmounted_drive(store) is None
    assert unmounted_drive(tmp_path / "elsewhere" / "runs") is None
    nbtrack.start(store=str(store)).finish()
    assert len(nbtrack.runs(store=str(store))) == 1


def test_colab_notebooks_are_normalised_to_valid_nbformat() -> None:
    notebook = colab_notebook([("code", "x = 1\nprint(x)\n"), ("markdown", "# title")])
    fixed = normalise(notebook)
    assert fixed is not None and fixed["nbformat"] == 4 and fixed["nbformat_minor"] >= 5
    assert [c["source"] for c in fixed["cells"]] == ["x = 1\nprint(x)\n", "# title"]
    assert all(c["id"] for c in fixed["cells"])
    assert normalise({"cells": "not a notebook"}) is None
