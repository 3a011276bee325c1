"""IPython glue: ``%load_ext nbtrack`` registers the ``%nbtrack`` magic and the cell hooks.

Load it automatically in every kernel with IPython's extension config, e.g. in
``~/.ipython/profile_default/ipython_kernel_config.py``::

    c.InteractiveShellApp.extensions = ["nbtrack"]
"""

from __future__ import annotations

from typing import Any

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


def load_ipython_extension(ipython: Any) -> None:
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
