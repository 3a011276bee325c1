"""A run's lifecycle hooks and the process's exit, declared in one place.

Layers above the API attach behaviour to every run here instead of wrapping it (the IPython
layer registers its hooks when ``%load_ext nbtrack`` runs, or on the first ``nbtrack.start()``
inside a kernel); nothing is registered when ``nbtrack`` is imported.

- ``on_header()``: a run is about to start; returns header fields to add (a kernel's notebook
  path and kernel id). Fields given to ``start()`` win.
- ``on_start(run)``: the run is active and its header written (live charts, a kernel's cell
  capture); params given to ``start()`` are written after these hooks ran.
- ``on_finish(run)``: the run is about to write its final status (a last notebook snapshot).
- ``before_exit()``: the interpreter is exiting; called before the active run is finished.

Hooks run in the order they were added, each at most once per event; a hook that raises is
reported once as a warning and removed, so it can never break the user's code. The one exit
handler (installed with the first run) calls ``before_exit`` hooks, then finishes the active
run: ``failed`` with the error when an uncaught exception ends the process, else ``finished``.
"""

from __future__ import annotations

import atexit
import sys
import warnings
from collections.abc import Callable
from typing import Any

Hook = Callable[..., Any]

on_header: list[Hook] = []
on_start: list[Hook] = []
on_finish: list[Hook] = []
before_exit: list[Hook] = []

_exit_installed = False
_uncaught: list[str] = []


def add(hooks: list[Hook], hook: Hook) -> None:
    """Add `hook` to `hooks` (one of the lists above) unless it is there already."""
    if hook not in hooks:
        hooks.append(hook)


def call(hooks: list[Hook], *args: Any) -> list[Any]:
    """Call every hook in order and return their results; one that raises is reported once and
    removed."""
    results: list[Any] = []
    for hook in list(hooks):
        try:
            results.append(hook(*args))
        except Exception as exc:
            if hook in hooks:
                hooks.remove(hook)
            name = getattr(hook, "__qualname__", repr(hook))
            warnings.warn(f"nbtrack: the hook {name} failed and was removed: {exc!r}", RuntimeWarning, stacklevel=2)
    return results


def header_fields() -> dict[str, Any]:
    """The header fields the ``on_header`` hooks add, merged in order."""
    fields: dict[str, Any] = {}
    for found in call(on_header):
        if isinstance(found, dict):
            fields.update(found)
    return fields


def install_exit_handler(finish_active: Callable[[str | None], None]) -> None:
    """Install the one exit handler (once per process): `before_exit` hooks, then
    `finish_active(error)` with the last uncaught exception's text, or None."""
    global _exit_installed
    if _exit_installed:
        return
    _exit_installed = True
    previous = sys.excepthook

    def remember(exc_type, exc, tb):  # type: ignore[no-untyped-def]
        _uncaught.append(f"{exc_type.__name__}: {exc}")
        previous(exc_type, exc, tb)

    sys.excepthook = remember

    def at_exit() -> None:
        call(before_exit)
        try:
            finish_active(_uncaught[-1] if _uncaught else None)
        except Exception:  # the interpreter is going away: nothing left to tell
            pass

    atexit.register(at_exit)
