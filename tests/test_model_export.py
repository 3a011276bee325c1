"""`nbtrack models export`: model files, pinned requirements and lineage; and MLflow model
directories that MLflow itself loads and predicts with, in a fresh process."""

from __future__ import annotations

import importlib.metadata
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import nbtrack

CLI = [sys.executable, "-m", "nbtrack"]


@pytest.fixture
def registered(tmp_path: Path) -> tuple[str, Path, str]:
    """(store, pickled model file, run id): a small classifier trained under a run, registered
    twice (as model.pkl, and the same bytes as model.bin)."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    store = str(tmp_path / "store")
    X, y = load_iris(return_X_y=True)
    with nbtrack.start("iris", store=store, params={"C": 0.5}) as run:
        model = LogisticRegression(C=0.5, max_iter=500).fit(X, y)
        nbtrack.log(step=0, acc=model.score(X, y))
        path = tmp_path / "model.pkl"
        path.write_bytes(pickle.dumps(model))
        nbtrack.register_model("iris", path)
        (tmp_path / "model.bin").write_bytes(path.read_bytes())
        nbtrack.register_model("iris", tmp_path / "model.bin")
    return store, path, run.id


def test_export_writes_model_pinned_requirements_and_lineage(
    registered: tuple[str, Path, str], tmp_path: Path, child_env: dict[str, str]
) -> None:
    store, path, run_id = registered
    out = tmp_path / "serve"
    done = subprocess.run([*CLI, "--store", store, "models", "export", "iris@1", "-o", str(out)], env=child_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (out / "model" / "model.pkl").read_bytes() == path.read_bytes()
    pins = (out / "requirements.txt").read_text().splitlines()
    assert f"scikit-learn=={importlib.metadata.version('scikit-learn')}" in pins
    assert not any(line.lower().startswith("nbtrack==") for line in pins)
    lineage = json.loads((out / "lineage.json").read_text())
    assert lineage["model"]["name"] == "iris" and lineage["model"]["version"] == 1
    assert lineage["run"]["id"] == run_id and lineage["run"]["params"] == {"C": 0.5}
    shown = subprocess.run([*CLI, "--store", store, "models", "show", "iris@1"], env=child_env,
                           capture_output=True, text=True, timeout=120)
    assert f"run      {run_id} iris (finished" in shown.stdout and "param    C = 0.5" in shown.stdout


LOAD_AND_PREDICT = """
import json, sys
import mlflow.pyfunc
from sklearn.datasets import load_iris
X, _ = load_iris(return_X_y=True)
model = mlflow.pyfunc.load_model(sys.argv[1])
print(json.dumps([int(v) for v in model.predict(X[:20])]))
"""


@pytest.mark.parametrize("version", [1, 2])  # sklearn flavour (.pkl), pyfunc over a pickled file (.bin)
def test_mlflow_export_is_loaded_and_served_by_mlflow(
    registered: tuple[str, Path, str], version: int, tmp_path: Path, child_env: dict[str, str]
) -> None:
    pytest.importorskip("mlflow.pyfunc", reason="mlflow is not installed (pip install 'nbtrack[mlflow]')")
    from sklearn.datasets import load_iris

    store, path, _run_id = registered
    out = tmp_path / f"mlflow-{version}"
    done = subprocess.run([*CLI, "--store", store, "models", "export", f"iris@{version}", "-o", str(out),
                           "--format", "mlflow"], env=child_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    mlmodel = (out / "MLmodel").read_text()
    assert ("sklearn:" in mlmodel) == (version == 1) and "python_function" in mlmodel
    assert (out / "lineage.json").exists()
    # a fresh process that imports only MLflow (and what the model needs) loads it and predicts
    env = dict(child_env, PYTHONPATH="", MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true")  # MLflow 3: trust opt-in
    predicted = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, str(out)], env=env, capture_output=True,
                               text=True, timeout=300)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    X, _ = load_iris(return_X_y=True)
    expected = pickle.loads(path.read_bytes()).predict(X[:20]).tolist()
    assert json.loads(predicted.stdout.strip().splitlines()[-1]) == expected
