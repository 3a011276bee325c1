"""Hand a model version over to serving: ``nbtrack models export faces@4 -o DIR``.

The folder gets the model file(s) under ``model/``, ``requirements.txt`` pinning the packages
the run recorded (``name==version``), and ``lineage.json`` (``nbtrack.api.models.lineage``).
With ``fmt="mlflow"`` (mlflow installed) it is an MLflow model directory instead, with the same
lineage and requirements: a pickled scikit-learn model is saved with MLflow's ``sklearn``
flavour; anything else as a ``pyfunc`` model whose artifact is the model file (or folder) and
whose ``predict`` loads it with pickle, so serving tools (``mlflow models serve``) can deploy it.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

from nbtrack.api.models import lineage, model_path
from nbtrack.api.read import Run, StoreLike, as_store
from nbtrack.core.reproduce import normalise_package

NATIVE, MLFLOW = "files", "mlflow"
NOT_PINNED = {"nbtrack", "pip", "setuptools", "wheel"}  # tooling, or not on the package index
PICKLES = (".pkl", ".pickle", ".joblib")


def requirements(environment: dict[str, Any] | None) -> list[str]:
    """``name==version`` for every package the run recorded (sorted; tooling left out)."""
    packages = (environment or {}).get("packages") or {}
    return [f"{name}=={version}" for name, version in sorted(packages.items(), key=lambda kv: kv[0].lower())
            if normalise_package(name) not in NOT_PINNED]


def export_model(ref: str, out: str | os.PathLike[str], fmt: str = NATIVE, store: StoreLike = None) -> Path:
    """Write model version `ref` with its requirements and lineage into the folder `out`."""
    if fmt not in (NATIVE, MLFLOW):
        raise ValueError(f"format must be {NATIVE!r} or {MLFLOW!r}, not {fmt!r}")
    target = as_store(store)
    source = model_path(ref, target)
    found = lineage(ref, target)
    run_id = (found.get("run") or {}).get("id")
    pins = requirements(Run(target, run_id).environment() if run_id else None)
    folder = Path(out)
    if fmt == MLFLOW:
        _mlflow_model(source, folder, pins)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, folder / "model", dirs_exist_ok=True)
        else:
            (folder / "model").mkdir(exist_ok=True)
            shutil.copyfile(source, folder / "model" / source.name)
        header = f"# pinned from the environment of run {run_id}\n" if run_id else "# no run recorded\n"
        (folder / "requirements.txt").write_text(header + "".join(f"{pin}\n" for pin in pins))
    (folder / "lineage.json").write_text(json.dumps(found, indent=1, sort_keys=True, default=str))
    return folder


def _sklearn_model(path: Path) -> Any:
    """The unpickled model when `path` is a pickled scikit-learn estimator, else None."""
    if not path.is_file() or path.suffix.lower() not in PICKLES:
        return None
    try:
        if path.suffix.lower() == ".joblib":
            import joblib

            model = joblib.load(path)
        else:
            with open(path, "rb") as fh:
                model = pickle.load(fh)  # the user's own registered model
    except Exception:
        return None
    return model if type(model).__module__.startswith("sklearn") else None


def _mlflow_model(source: Path, folder: Path, pins: list[str]) -> None:
    try:
        import mlflow.pyfunc
    except ImportError as exc:
        raise ImportError("--format mlflow needs mlflow: pip install mlflow-skinny (or mlflow)") from exc
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: MLflow writes a new model directory")
    if folder.exists():
        folder.rmdir()
    estimator = _sklearn_model(source)
    if estimator is not None:
        import importlib.util

        import mlflow.sklearn

        skops = getattr(mlflow.sklearn, "SERIALIZATION_FORMAT_SKOPS", None)  # MLflow 3's default, when installed
        fmt = skops if skops and importlib.util.find_spec("skops") else mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE
        mlflow.sklearn.save_model(estimator, str(folder), pip_requirements=pins or None, serialization_format=fmt)
        return
    mlflow.pyfunc.save_model(str(folder), python_model=_pickled_model(mlflow.pyfunc.PythonModel),
                             artifacts={"model": str(source)}, pip_requirements=pins or None)


def _pickled_model(base: type) -> Any:
    """A ``pyfunc`` model over a pickled object with a ``predict`` method. Defined here, so
    MLflow pickles the class by value: serving it does not need nbtrack installed."""

    class PickledModel(base):
        def load_context(self, context: Any) -> None:
            import pickle

            with open(context.artifacts["model"], "rb") as fh:
                self.model = pickle.load(fh)  # the user's own registered model

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return self.model.predict(model_input)

    return PickledModel()
