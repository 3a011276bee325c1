"""Environment capture: what it holds, secrets kept out, and plain scripts get it too."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nbtrack.api import get_run
from nbtrack.capture.environment import capture, environment_variables
from nbtrack.core.redact import Redactor
from nbtrack.store.store import open_store


def test_capture_contents(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git[:3], "init", "-q", "-b", "main"], check=True)
    (repo / "train.py").write_text("lr = 0.1\n")
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    (repo / "train.py").write_text("lr = 0.2\npassword = 'hunter22'\n")
    env = capture(str(repo), "python3", environ={"PATH": "/usr/bin", "OMP_NUM_THREADS": "2", "HOME": "/root",
                                                    "HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz0123456",
                                                    "PIP_INDEX_URL": "https://u:pw12345@pypi.corp/simple"})
    assert env["python"]["version"].count(".") == 2 and env["python"]["executable"] == sys.executable
    assert env["packages"]["nbformat"] and env["cpu_count"] >= 1 and env["memory_bytes"] > 0
    assert env["kernel"] == {"name": "python3"} and isinstance(env["gpus"], list)
    assert env["git"]["branch"] == "main" and env["git"]["dirty"] and len(env["git"]["commit"]) == 40
    assert "+lr = 0.2" in env["git"]["diff"] and "hunter22" not in env["git"]["diff"]
    assert env["env_vars"]["allowlisted"] == {"OMP_NUM_THREADS": "2", "PATH": "/usr/bin",
                                              "PIP_INDEX_URL": "https://u:[REDACTED]@pypi.corp/simple"}
    assert env["env_vars"]["redacted"] == ["HF_TOKEN"]
    assert "hf_abcdefghij" not in json.dumps(env)


def test_variables_outside_the_allowlist_are_not_kept() -> None:
    kept = environment_variables({"SECRET_SAUCE": "x", "MY_VAR": "y", "CUDA_VISIBLE_DEVICES": "0"}, Redactor())
    assert kept == {"allowlisted": {"CUDA_VISIBLE_DEVICES": "0"}, "redacted": []}


def test_a_plain_script_records_its_environment(tmp_path: Path, child_env: dict[str, str]) -> None:
    store = tmp_path / "store"
    script = textwrap.dedent("""
        import sys, nbtrack
        with nbtrack.start("script", store=sys.argv[1]):
            nbtrack.log(loss=1.0)
    """)
    subprocess.run([sys.executable, "-c", script, str(store)], env=child_env, check=True, timeout=120)
    opened = open_store(str(store))
    run = get_run(opened.run_ids()[0], opened)
    environment = run.environment()
    assert environment is not None and environment["packages"]["nbformat"]
    assert len(run.records_of("env")) == 1


def test_environment_capture_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbtrack

    monkeypatch.setenv("NBTRACK_CAPTURE_ENV", "0")
    with nbtrack.start("no env", store=str(tmp_path / "store")) as run:
        pass
    assert get_run(run.id, open_store(str(tmp_path / "store"))).environment() is None
