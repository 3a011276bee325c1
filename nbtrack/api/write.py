"""The write side of the Python API: one active run per process, module-level verbs.

    import nbtrack
    with nbtrack.start("baseline", tags=["faces"], params={"lr": 0.01}):
        for step in range(100):
            nbtrack.log(step=step, loss=...)
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from nbtrack.api import lifecycle
from nbtrack.capture import environment
from nbtrack.core import records
from nbtrack.core.confusion import confusion_matrix
from nbtrack.core.fingerprint import HashCache
from nbtrack.core.identity import host_fields
from nbtrack.core.ids import new_run_id
from nbtrack.core.records import FAILED, FINISHED, RUNNING
from nbtrack.core.run import ActiveRun
from nbtrack.core.sweep_state import ENV_SWEEP, run_header_fields
from nbtrack.store.locate import index_path
from nbtrack.store.store import Store, open_store
from nbtrack.store.sweeps import announce_run

ENV_REPLAY_OF = "NBTRACK_REPLAY_OF"
ENV_FLUSH = "NBTRACK_FLUSH_INTERVAL"
ENV_HEARTBEAT = "NBTRACK_HEARTBEAT"

_active: ActiveRun | None = None
_lock = threading.RLock()


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@cache
def _hash_cache(path: str) -> HashCache:
    """One file-hash cache (one SQLite connection) per process, shared by every run."""
    return HashCache(Path(path))


def start(
    name: str | None = None,
    tags: Iterable[str] = (),
    note: str | None = None,
    params: dict[str, Any] | None = None,
    store: str | os.PathLike[str] | Store | None = None,
    **header: Any,
) -> ActiveRun:
    """Begin a run (finishing the active one first, with a warning) and make it active; its
    environment is captured in the background, then the ``lifecycle.on_start`` hooks run (in a
    notebook kernel: the run belongs to the notebook, with its cells, snapshots and the
    parameters cell's params) and `params` are written, winning over the parameters cell's. As
    a context manager, the run finishes when the block ends (``failed`` on an exception)."""
    global _active
    with _lock:
        if _active is not None and _active.status == RUNNING:
            warnings.warn(f"nbtrack: finished the active run {_active.id} to start a new one",
                          stacklevel=user_stacklevel())
            _active.finish(FINISHED)
        target = store if isinstance(store, Store) else open_store(store)
        trial, trial_tags = run_header_fields(os.environ.get(ENV_SWEEP))  # a sweep's trial: its sweep
        given = [str(t) for t in ([tags] if isinstance(tags, str) else tags)]
        fields = {
            "name": name or "",
            "tags": given + [t for t in trial_tags if t not in given],
            "note": note,
            "cwd": os.getcwd(),
            "replay_of": os.environ.get(ENV_REPLAY_OF) or None,
            **host_fields(),
            **trial,
            **lifecycle.header_fields(),
            **header,
        }
        run = ActiveRun(
            target,
            new_run_id(),
            {k: v for k, v in fields.items() if v is not None},
            flush_interval=_env_float(ENV_FLUSH, 1.0),
            heartbeat=_env_float(ENV_HEARTBEAT, 10.0),
            hash_cache=_hash_cache(str(index_path(target.url).with_name("file-hashes.sqlite"))),
        )
        run.before_finish.append(_finishing)
        if trial:
            _announce_trial_run(target, trial, run.id)
        _active = run
        lifecycle.install_exit_handler(_finish_at_exit)
    environment.capture_for(run)
    lifecycle.call(lifecycle.on_start, run)
    if params:
        run.log_params(**params)
    return run


def _finishing(run: ActiveRun) -> None:
    lifecycle.call(lifecycle.on_finish, run)


def _announce_trial_run(target: Store, trial: dict[str, Any], run_id: str) -> None:
    """A sweep's trial: tell the sweep which run this attempt is (never failing the start)."""
    try:
        announce_run(target, trial, run_id)
    except Exception as exc:  # the worker finds the run from its header then
        warnings.warn(f"nbtrack: could not tell sweep {trial['sweep']} about run {run_id}: {exc}", stacklevel=3)


def user_stacklevel() -> int:
    """The `stacklevel` that makes a warning point at the user's line: the first caller outside
    nbtrack (the facade, the magic or the API may stand between)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_globals.get("__name__", "").split(".")[0] == "nbtrack":
        frame, level = frame.f_back, level + 1
    return level


def active_run() -> ActiveRun | None:
    return _active if _active is not None and _active.status == RUNNING else None


class NoActiveRun(RuntimeError):
    """A verb that writes to the active run was called without one. In IPython it shows as its
    one-line message, not a traceback (IPython honours ``_render_traceback_``); scripts get a
    normal exception."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


def require_run(verb: str = "log") -> ActiveRun:
    run = _active
    if run is None or run.status != RUNNING:
        raise NoActiveRun(f"nbtrack.{verb}(): no active run. Start one with `%nbtrack start` or `nbtrack.start()`.")
    return run


def log(step: float | None = None, **scalars: object) -> None:
    """Record scalar metrics on the active run (non-blocking)."""
    run = _active
    if run is None or run.status != RUNNING:
        run = require_run("log")
    run.log(step, **scalars)


def log_params(**params: Any) -> None:
    require_run("log_params").log_params(**params)


def log_artifact(path_or_bytes: str | Path | bytes, name: str | None = None) -> str:
    return require_run("log_artifact").log_artifact(path_or_bytes, name)


def track_data(path: str | Path) -> dict[str, Any]:
    return require_run("track_data").track_data(path)


def log_confusion_matrix(
    y_true: Iterable[Any], y_pred: Iterable[Any], labels: Sequence[Any] | None = None, step: int | None = None
) -> dict[str, Any]:
    """Store a confusion matrix on the active run (rows: truth, columns: prediction) at `step`
    (the step of the latest ``log()`` when omitted); returns the stored record's fields."""
    run = require_run("log_confusion_matrix")
    names, matrix = confusion_matrix(y_true, y_pred, labels)
    if step is None:
        step = run.last_step if run.last_step is not None else 0
    run.write(records.confusion(step, names, matrix))
    return {"step": step, "labels": names, "matrix": matrix}


def note(text: str) -> None:
    require_run("note").note(text)


def tag(*tags: str) -> None:
    require_run("tag").tag(*tags)


def flush() -> None:
    require_run("flush").flush()


def finish(status: str = FINISHED) -> None:
    """Finish the active run (no-op when none is active)."""
    run = active_run()
    if run is not None:
        run.finish(status)


def _finish_at_exit(error: str | None) -> None:
    run = active_run()
    if run is not None:
        run.finish(FAILED, error=error) if error else run.finish(FINISHED)
