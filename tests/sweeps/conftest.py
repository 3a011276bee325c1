"""Fixtures of the sweep tests: kernels and workers that import this checkout, the notebook the
trials run, a CLI runner, and a real Dask cluster (scheduler + 2 single-threaded workers) on
loopback with an S3-protocol server (moto) as the store every worker shares."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.store.store import Store, open_store
from nbtrack.store.sweeps import SweepRecord, sweep_ids

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "tests" / "notebooks" / "sweep_digits.ipynb"  # SGD on digits: params alpha, epochs, seed, pause


@pytest.fixture(autouse=True)
def kernels_import_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for name in ("NBTRACK_REPLAY_OF", "NBTRACK_NOTEBOOK", "NBTRACK_SWEEP", "NBTRACK_DASK_SCHEDULER"):
        monkeypatch.delenv(name, raising=False)


def cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`nbtrack ARGS` in a process of its own (the user's journey), its output as text."""
    return subprocess.run([sys.executable, "-m", "nbtrack", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


_STARTED: list[subprocess.Popen[str]] = []


def start_cli(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    """`nbtrack ARGS` started in a session of its own: a test that fails before it ends stops it
    and its pool processes (`stop_started_clis`)."""
    process = subprocess.Popen([sys.executable, "-m", "nbtrack", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=cwd, start_new_session=True)
    _STARTED.append(process)
    return process


@pytest.fixture(autouse=True)
def stop_started_clis() -> Iterator[None]:
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the driver and its pool (kernels follow their parent)
            process.communicate()


def only_sweep(store: Store) -> SweepRecord:
    [sweep_id] = sweep_ids(store)
    return SweepRecord(store, sweep_id)


def wait_for(condition: Callable[[], Any], timeout: float = 300, what: str = "the condition") -> Any:
    """Poll `condition` until it returns something true (a wait for an event, not a sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"no {what} within {timeout} s")


def wait_for_trial_run(store: Store, trial: int, timeout: float = 300) -> Any:
    """The running attempt of `trial` once its run exists (the kernel started tracking)."""

    def running() -> Any:
        if not sweep_ids(store):
            return None
        found = only_sweep(store).state().trials.get(trial)
        last = found.last if found else None
        return last if last is not None and last.run and last.status == "running" else None

    return wait_for(running, timeout, f"running attempt of trial {trial}")


def progress_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(result.stdout)


@pytest.fixture
def local_store(tmp_path: Path) -> Store:
    return open_store(str(tmp_path / "store"))


@pytest.fixture(scope="module")
def dask_cluster(s3_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A `dask scheduler` and two single-threaded `dask worker`s on loopback (each with its nanny),
    reaching the moto S3 server with the test credentials."""
    from tests.servers import start_dask_cluster

    folder = tmp_path_factory.mktemp("dask")
    cluster = start_dask_cluster(folder, workers=2, env={"NBTRACK_INDEX_DIR": str(folder / "index"),
                                                         "NBTRACK_USER": "tester"})
    yield cluster
    cluster.stop()
