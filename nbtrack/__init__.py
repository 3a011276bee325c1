"""nbtrack: every notebook experiment tracked, comparable, shareable and reproducible.

In a notebook: ``%load_ext nbtrack`` then ``%nbtrack start``. From Python::

    import nbtrack
    nbtrack.start("baseline", params={"lr": 0.01})
    nbtrack.log(step=0, loss=0.9)
    nbtrack.finish()
    nbtrack.runs()          # a DataFrame of every run in the store

This module is the facade over the layers (``docs/architecture.md``). Importing it registers
nothing; inside an IPython kernel, ``%load_ext nbtrack`` or the first `start` attach the kernel's
behaviour to runs (live charts) through ``nbtrack.api.lifecycle``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec

from nbtrack._version import __version__
from nbtrack.api import (
    Run,
    active_run,
    finish,
    flush,
    get_data,
    get_run,
    log,
    log_artifact,
    log_confusion_matrix,
    log_params,
    model_path,
    note,
    promote_model,
    register_model,
    runs,
    tag,
    track_data,
)
from nbtrack.api import write as _write
from nbtrack.core.lazy import lazy_exports
from nbtrack.core.run import ActiveRun
from nbtrack.store.store import open_store

P = ParamSpec("P")

__all__ = [
    "Run",
    "__version__",
    "active_run",
    "finish",
    "flush",
    "get_data",
    "get_run",
    "log",
    "log_artifact",
    "log_confusion_matrix",
    "log_params",
    "model_path",
    "note",
    "open_store",
    "promote_model",
    "register_model",
    "report",
    "runs",
    "start",
    "tag",
    "track_data",
]


def _with_kernel(write_start: Callable[P, ActiveRun]) -> Callable[P, ActiveRun]:
    """`write_start` that first gives an IPython kernel's runs the kernel's behaviour."""

    @functools.wraps(write_start)
    def start(*args: P.args, **kwargs: P.kwargs) -> ActiveRun:
        _attach_kernel()
        return write_start(*args, **kwargs)

    return start


start = _with_kernel(_write.start)


# Verbs that live in heavier layers (widgets, replay) load on first use, so `import nbtrack`
# stays light and the core never imports ipywidgets or papermill.
_LAZY = {
    "show_live": "nbtrack.widgets",
    "show_confusion_matrix": "nbtrack.widgets",
    "table": "nbtrack.widgets",
    "compare": "nbtrack.widgets",
    "auto_live": "nbtrack.widgets",
    "replay": "nbtrack.replay",
    "sweep": "nbtrack.sweeps",
    "get_sweep": "nbtrack.sweeps",
    "report": "nbtrack.htmlreport",
}


__getattr__ = lazy_exports(__name__, _LAZY)


def _attach_kernel() -> None:
    """Inside an IPython kernel: runs belong to the kernel's notebook (cells, snapshots, params;
    ``nbtrack.ipython``) and show live curves on their first ``log()``."""
    from nbtrack.capture.notebook import in_kernel

    if in_kernel():
        from IPython import get_ipython

        from nbtrack.api import lifecycle
        from nbtrack.ipython import load_ipython_extension as load
        from nbtrack.widgets.auto import attach

        lifecycle.add(lifecycle.on_start, attach)
        load(get_ipython())


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbtrack``: registers the ``%nbtrack`` magic and the cell hooks."""
    from nbtrack.ipython import load_ipython_extension as load

    _attach_kernel()
    load(ipython)  # (again, when `ipython` is not the kernel's shell: a terminal IPython)


def unload_ipython_extension(ipython: Any) -> None:
    from nbtrack.ipython import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "nbtrack"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbtrack.server"}]
