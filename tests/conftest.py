"""Shared fixtures: every test gets its own store and its own machine-local index folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.store import store as store_module

pytest_plugins = ["tests.browser"]


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


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real S3-protocol server (moto in server mode) on a free loopback port, with a bucket;
    `s3_server.url()` is a fresh empty store in it (tests/servers.py)."""
    from tests.servers import start_s3_server

    server = start_s3_server(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def store_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Jupyter server serving a store over HTTP with token auth (tests/servers.py)."""
    from tests.servers import start_store_server

    server = start_store_server(tmp_path_factory.mktemp("jupyter"))
    yield server
    server.stop()

