"""The journey in a real kernel: ``%nbtrack start``, then a framework trains, then ``%nbtrack
stop``: the integration joins the notebook's run instead of starting its own."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

import nbtrack
from tests.capture.kernels import kernel_environment

pytest.importorskip("sklearn")

CELLS = [
    "%load_ext nbtrack",
    '%nbtrack start "tuning" --tag search',
    "from nbtrack.integrations.sklearn import autolog\nautolog()",
    "from sklearn.datasets import make_classification\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.model_selection import GridSearchCV\n"
    "X, y = make_classification(n_samples=60, n_features=4, random_state=0)\n"
    "search = GridSearchCV(LogisticRegression(max_iter=100), {'C': [0.1, 1.0]}, cv=2).fit(X, y)\n"
    "print(search.best_params_['C'])",
    "%nbtrack stop",
]


@pytest.mark.slow
def test_a_search_inside_nbtrack_start_joins_the_notebook_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    store = tmp_path / "store"
    kernel_environment(monkeypatch, store)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(notebook, kernel_name="python3", timeout=180,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    best_c = float(notebook.cells[3].outputs[-1]["text"].strip())

    frame = nbtrack.runs(store=store)
    (parent_id,) = frame[frame["name"] == "tuning"]["id"]
    parent = nbtrack.get_run(parent_id, store=store)
    assert parent.status == "finished" and parent.tags == ["search"]
    assert parent.params["best.C"] == best_c and parent.params["estimator_class"] == "GridSearchCV"
    assert "training_score" in parent.state.metrics
    assert [c["source"] for c in parent.cells][-2:] == [CELLS[3], CELLS[4]]
    children = nbtrack.runs(f"parent={parent_id}", store=store)
    assert sorted(p["C"] for p in children["params"]) == [0.1, 1.0]
    assert len(frame) == 3  # the notebook's run and its two candidates: no run of the integration's own
