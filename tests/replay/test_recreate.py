"""`env="recreate"`: a real virtual environment built from a run's recorded packages (uv, else
pip), cached by its hash, with its own kernel; and the plan of what goes into it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.core.reproduce import REPRODUCED
from nbtrack.replay import EnvironmentBuildError, replay
from nbtrack.replay.envs import imported_modules, plan, recreate
from tests.replay.originals import execute_original

RECORDED = {"packages": {"ipykernel": "7.4.0", "nbformat": "5.10.4", "scikit-learn": "1.5.0", "numpy": "2.1.0",
                         "Pillow": "11.0.0", "packaging": "26.0", "anywidget": "0.9.0", "nbtrack": "0.1.0",
                         "torch": "2.1.0+cu118"},
            "python": {"version": "3.11.7"}}


def test_plan_installs_what_the_notebook_imports_plus_the_kernel() -> None:
    sources = ["import numpy as np\nfrom sklearn import svm\nimport os, json\n%matplotlib inline\n!pip list",
               "from PIL import Image\nimport nbtrack\nimport my_local_helpers\nfrom . import x"]
    assert imported_modules(sources) == {"numpy", "sklearn", "os", "json", "PIL", "nbtrack", "my_local_helpers"}
    the_plan = plan(RECORDED, sources)
    assert the_plan.requirements == {"numpy": "2.1.0", "scikit-learn": "1.5.0", "pillow": "11.0.0",
                                     "ipykernel": "7.4.0", "nbformat": "5.10.4", "anywidget": "0.9.0"}
    assert the_plan.reasons["scikit-learn"] == "imported as sklearn"
    assert the_plan.unknown_modules == ["my_local_helpers"]
    assert (
        "nbtrack" not in the_plan.constraints and "torch" not in the_plan.constraints
    )  # local versions are not on an index
    assert the_plan.constraints["packaging"] == "26.0"
    assert plan(RECORDED, list(reversed(sources))).key == the_plan.key
    assert plan({**RECORDED, "python": {"version": "3.12.1"}}, sources).key != the_plan.key
    # a run that versioned its data recorded pyfastcdc: nbtrack.track_data needs it in the replay too
    with_chunks = plan({**RECORDED, "packages": {**RECORDED["packages"], "pyfastcdc": "0.3.1"}}, sources)
    assert with_chunks.requirements["pyfastcdc"] == "0.3.1" and "pyfastcdc" not in the_plan.requirements


@pytest.fixture
def env_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NBTRACK_ENV_DIR", str(tmp_path / "envs"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    return tmp_path


def test_uninstallable_packages_are_listed_and_stop_the_build(env_folders: Path) -> None:
    recorded = {"packages": {"ipykernel": "7.4.0", "packaging": "0.0.999"}, "python": {"version": "3.11.7"}}
    with pytest.raises(EnvironmentBuildError, match=r"packaging==0\.0\.999") as caught:
        recreate(recorded, ["import packaging"])
    assert caught.value.missing == ["packaging==0.0.999"]
    assert not any((env_folders / "envs").glob("*/nbtrack-env.json"))  # nothing half-built is kept


@pytest.mark.slow
def test_replay_in_a_recreated_environment_is_cached_by_hash(tmp_path: Path, env_folders: Path) -> None:
    store = tmp_path / "store"
    run_id = execute_original("replay_small_env", tmp_path, store)
    recorded = nbtrack.get_run(run_id, store).environment()["packages"]

    started = time.perf_counter()
    first = replay(run_id, store=store, env="recreate")
    first_seconds = time.perf_counter() - started
    assert first.report.verdict == REPRODUCED, first.report.to_dict()
    folders = [p for p in (env_folders / "envs").iterdir() if p.is_dir()]
    assert len(folders) == 1
    marker = json.loads((folders[0] / "nbtrack-env.json").read_text())
    assert marker["plan"]["requirements"]["packaging"] == recorded["packaging"]
    replayed_env = nbtrack.get_run(first.run_id, store).environment()
    assert replayed_env["python"]["executable"].startswith(str(folders[0]))
    assert replayed_env["packages"]["packaging"] == recorded["packaging"]
    assert "pandas" not in replayed_env["packages"]  # only what the notebook needs
    spec = json.loads(next((env_folders / "jupyter" / "kernels").glob("nbtrack-*/kernel.json")).read_text())
    assert spec["argv"][0].startswith(str(folders[0]))

    started = time.perf_counter()
    second = replay(run_id, store=store, env="recreate")
    second_seconds = time.perf_counter() - started
    assert second.report.verdict == REPRODUCED
    assert "reused the cached environment" in second.notes
    assert all(row["kind"] != "missing" for row in second.report.environment)  # left out on purpose
    assert [p for p in (env_folders / "envs").iterdir() if p.is_dir()] == folders
    print(f"recreate: first replay {first_seconds:.1f} s, second (cached) {second_seconds:.1f} s")
