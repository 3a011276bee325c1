"""nbtrack: every notebook experiment tracked, comparable, shareable and reproducible.

In a notebook: ``%load_ext nbtrack`` then ``%nbtrack start``. From Python::

    import nbtrack
    nbtrack.start("baseline", params={"lr": 0.01})
    nbtrack.log(step=0, loss=0.9)
    nbtrack.finish()
    nbtrack.runs()          # a DataFrame of every run in the store
"""

from __future__ import annotations

from typing import Any

from nbtrack._version import __version__
from nbtrack.api import (
    active_run,
    finish,
    flush,
    log,
    log_artifact,
    log_confusion_matrix,
    log_params,
    note,
    start,
    tag,
    track_data,
)
from nbtrack.query import Run, get_run, runs
from nbtrack.store.store import open_store

__all__ = [
    "Run",
    "__version__",
    "active_run",
    "finish",
    "flush",
    "get_run",
    "log",
    "log_artifact",
    "log_confusion_matrix",
    "log_params",
    "note",
    "open_store",
    "runs",
    "start",
    "tag",
    "track_data",
]


# Verbs that live in heavier layers (widgets, replay) load on first use, so `import nbtrack`
# stays light and the core never imports ipywidgets or papermill.
_LAZY = {
    "show_live": "nbtrack.widgets",
    "show_confusion_matrix": "nbtrack.widgets",
    "table": "nbtrack.widgets",
    "compare": "nbtrack.widgets",
    "auto_live": "nbtrack.widgets",
    "replay": "nbtrack.replay",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def _auto_live(run: Any) -> None:
    """Start hook: live curves on the first ``log()`` inside a kernel (see nbtrack.widgets.auto)."""
    import sys

    if "ipykernel" in sys.modules:  # widgets load only in kernels, never in scripts
        from nbtrack.widgets.auto import attach

        attach(run)


from nbtrack import api as _api  # noqa: E402

_api.on_start.append(_auto_live)

from nbtrack.capture.environment import register as _register_environment  # noqa: E402

_register_environment()  # every run records its environment (in its writer thread)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbtrack``: registers the ``%nbtrack`` magic and the cell hooks."""
    from nbtrack.ipython import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from nbtrack.ipython import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "nbtrack"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbtrack.server"}]
