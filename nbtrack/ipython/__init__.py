"""IPython glue: ``%load_ext nbtrack`` registers the ``%nbtrack`` magic and the cell hooks.

Load it automatically in every kernel with IPython's extension config, e.g. in
``~/.ipython/profile_default/ipython_kernel_config.py``::

    c.InteractiveShellApp.extensions = ["nbtrack"]
"""

from __future__ import annotations

from typing import Any

from nbtrack.api import lifecycle
from nbtrack.capture import colab
from nbtrack.ipython.magic import make_magic
from nbtrack.ipython.tracker import KernelTracker

_trackers: dict[int, KernelTracker] = {}


def tracker(shell: Any = None) -> KernelTracker | None:
    """The tracker of `shell` (the current IPython shell by default), if the extension is loaded."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    return _trackers.get(id(shell)) if shell is not None else None


def recorder(shell: Any = None) -> Any:
    """The cell recorder of `shell` (its hooks), if the extension is loaded."""
    found = tracker(shell)
    return found.recorder if found is not None else None


def _header() -> dict[str, Any]:
    found = tracker()
    return found.header() if found is not None else {}


def _started(run: Any) -> None:
    found = tracker()
    if found is not None:
        found.started(run)


def _finishing(run: Any) -> None:
    found = tracker()
    if found is not None:
        found.finishing(run)


def load_ipython_extension(ipython: Any) -> None:
    """Install the cell hooks and the magic; every run started in this kernel from now on (by
    the magic or by ``nbtrack.start()``) belongs to its notebook."""
    lifecycle.add(lifecycle.on_header, _header)
    lifecycle.add(lifecycle.on_start, _started)
    lifecycle.add(lifecycle.on_finish, _finishing)
    existing = _trackers.get(id(ipython))
    if existing is not None:
        existing.load()
        return
    tracker_ = _trackers[id(ipython)] = KernelTracker(ipython)
    tracker_.load()
    colab.prepare_kernel()  # Colab: its custom widget manager, so nbtrack's widgets render
    ipython.register_magic_function(make_magic(tracker_), magic_kind="line", magic_name="nbtrack")


def unload_ipython_extension(ipython: Any) -> None:
    found = _trackers.pop(id(ipython), None)
    if found is not None:
        found.stop()
        found.unload()
