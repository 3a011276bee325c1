"""Shared fixtures: every test gets its own store and its own machine-local index folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import nbtrack
from nbtrack.store import store as store_module


@pytest.fixture(autouse=True)
def isolated_nbtrack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees another's index, store cache or active run."""
    monkeypatch.setenv("NBTRACK_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.delenv("NBTRACK_STORE", raising=False)
    monkeypatch.setenv("NBTRACK_USER", "tester")
    store_module._OPEN.clear()
    yield
    nbtrack.finish()
    for opened in list(store_module._OPEN.values()):
        opened.close()
    store_module._OPEN.clear()


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def child_env(tmp_path: Path) -> dict[str, str]:
    """Environment for subprocesses that use nbtrack (same index folder, this checkout first)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env
