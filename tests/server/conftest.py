"""A real Jupyter server (pytest-jupyter, in process, over HTTP) with the nbtrack extension
enabled and serving a store of its own; helpers that write runs into that store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_server.auth import Authorizer

# pytest-jupyter's server fixtures and async-test hooks, for this folder only (a
# `pytest_plugins` entry is allowed in the root conftest alone, and would reach every test).
from pytest_jupyter.jupyter_server import *  # noqa: F403
from traitlets.config import Config

from nbtrack.core import framing, records
from nbtrack.core.ids import new_run_id
from nbtrack.core.records import FORMAT
from nbtrack.core.redact import Redactor
from nbtrack.core.snapshot import SnapshotWriter
from nbtrack.store.keys import log_key
from nbtrack.store.store import Store, open_store


class DenyNBTrack(Authorizer):
    """Allows everything but nbtrack's resource."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "nbtrack"


class ReadOnlyNBTrack(Authorizer):
    """Lets users read nbtrack but not change it or run replays."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "nbtrack" or action == "read"


class NoExecuteNBTrack(Authorizer):
    """Lets users read and annotate runs, but not execute code (replays)."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "nbtrack" or action != "execute"


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def authorizer() -> type[Authorizer] | None:
    """Override (parametrize) to run the server with another Authorizer."""
    return None


@pytest.fixture
def nbtrack_config() -> dict[str, Any]:
    """Override (parametrize) to set more ``NBTrack`` options."""
    return {}


@pytest.fixture
def jp_server_config(store_dir: Path, authorizer: type[Authorizer] | None, nbtrack_config: dict[str, Any]) -> Config:
    config: dict[str, Any] = {
        "ServerApp": {"jpserver_extensions": {"nbtrack": True}},
        "NBTrack": {"store": str(store_dir), **nbtrack_config},
    }
    if authorizer is not None:
        config["ServerApp"]["authorizer_class"] = authorizer
    return Config(config)


@pytest.fixture
def store(store_dir: Path) -> Store:
    return open_store(store_dir)


def write_run(
    store: Store,
    name: str = "",
    *,
    started: float | None = None,
    status: str | None = "finished",
    params: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    **header: Any,
) -> str:
    """A run log written directly (fast: for stores with many runs). `status` None leaves it
    running; such a run is alive only while its `pid` is (pass the test's own pid)."""
    ts = time.time() if started is None else started
    run_id = new_run_id(ts)
    records: list[dict[str, Any]] = [
        {"t": "run", "ts": ts, "id": run_id, "name": name, "tags": tags or [], "user": "tester",
         "host": "test-host", "format": FORMAT, "heartbeat": 10.0, **header}
    ]
    if params:
        records.append({"t": "params", "ts": ts, "values": params})
    if status is not None:
        records.append({"t": "status", "ts": ts + 1, "status": status})
    # Written whole, as a finished writer leaves it, without the store's per-object fsync (this
    # builds stores of 10,000 runs; an append handle per log would also exhaust descriptors).
    path = Path(store.backend.root, *log_key(run_id).split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(framing.encode_many(records))
    return run_id


@pytest.fixture
def make_run(store: Store) -> Callable[..., str]:
    return lambda name="", **kwargs: write_run(store, name, **kwargs)


def json_body(response: Any) -> Any:
    return json.loads(response.body.decode())


def write_notebook(path: Path, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def record_snapshot(run: Any, store: Store, notebook: Path, reason: str = "finish") -> None:
    """Record on the active `run` what capture records at a snapshot (the notebook stored cell
    by cell); capture's own tests cover capture."""
    manifest, cells = SnapshotWriter(store.put_blob, Redactor()).store(nbformat.read(notebook, as_version=4))
    run.write(records.snapshot(manifest, cells, reason, "disk", str(notebook)))
