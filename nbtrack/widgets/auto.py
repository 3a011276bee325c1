"""Showing live curves on a run's first ``log()``, in notebooks only.

Decision: the chart appears automatically when the run lives in an IPython *kernel* (ipykernel:
JupyterLab, Notebook 7, VS Code, Colab, and also papermill/nbclient, where it costs a few
throttled comm messages and leaves a widget view with a text fallback in the output notebook);
never in plain scripts or terminal IPython, and never in nbtrack replays (``NBTRACK_REPLAY_OF``
set). ``NBTRACK_AUTO_LIVE=0`` turns it off, ``=1`` forces it on (still only inside a kernel);
``nbtrack.widgets.auto_live(False)`` does the same from code and wins over the variable.

The chart is displayed by the first ``log()`` call itself, in the thread that calls it (the
kernel's main thread, in the cell that logs first), right after the point is queued: it lands
under that cell deterministically, never in whichever cell runs when a background thread wakes.
It is marked as nbtrack's own display (``metadata.nbtrack.own``), so the cell capture keeps it
apart from the user's outputs: it is in no stored output, no snapshot, no replay comparison.
Later ``log()`` calls run the plain method (the first call's wrapper removes itself).
"""

from __future__ import annotations

import os
import warnings

from nbtrack.capture.notebook import in_kernel
from nbtrack.core.run import ActiveRun

ENV_AUTO_LIVE = "NBTRACK_AUTO_LIVE"
_switch: bool | None = None  # set by auto_live(); None: follow the environment variable


def auto_live(enabled: bool | None = True) -> None:
    """Turn automatic live curves on or off for runs started from now on (None: back to
    ``NBTRACK_AUTO_LIVE`` / the default)."""
    global _switch
    _switch = enabled


def wanted() -> bool:
    if _switch is not None:
        enabled = _switch
    else:
        value = os.environ.get(ENV_AUTO_LIVE, "").strip().lower()
        if value in ("0", "false", "no", "off"):
            return False
        enabled = True
        if not value and os.environ.get("NBTRACK_REPLAY_OF"):
            return False
    return enabled and in_kernel()


OWN_METADATA = {"nbtrack": {"own": "live"}}


def attach(run: ActiveRun) -> None:
    """Start hook: show live curves under the cell that logs first (if wanted)."""
    if not wanted():
        return
    plain_log = run.log

    def first_log(step: float | None = None, **scalars: object) -> None:
        plain_log(step, **scalars)  # a rejected value raises as usual, and the chart waits
        if not scalars or run.__dict__.pop("log", None) is None:
            return
        show(run)

    run.log = first_log  # type: ignore[method-assign]


def show(run: ActiveRun) -> None:
    """Display live curves of `run` here (the running cell), marked as nbtrack's own output."""
    from nbtrack.widgets.live import _shown, show_live

    if run.id in _shown:
        return
    try:
        from IPython.display import display

        display(show_live(run=run), metadata=OWN_METADATA)
    except Exception as exc:  # never break the user's run for a chart
        warnings.warn(f"nbtrack: could not show live curves: {exc!r}", RuntimeWarning, stacklevel=3)
