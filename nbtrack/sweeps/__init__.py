"""Sweeps: a notebook run once per set of parameters, each trial a tracked run, on local
processes or on a Dask cluster; and batch replays on the same executors.

    import nbtrack
    sweep = nbtrack.sweep("train.ipynb", grid={"lr": [0.01, 0.1], "depth": [2, 4]})
    sweep.trials              # a DataFrame: trial, status, run, params.*, metrics.*
    nbtrack.runs(f"sweep={sweep.id}")

The sweep's record is in the store (``nbtrack.store.sweeps``: write-once events); ``trial`` runs
one trial where a worker is, ``executors`` are the local pool and Dask, ``driver`` runs a
session, ``search`` is Optuna, ``progress`` the progress and leaderboard every view reads,
``widget`` the notebook view, ``batch`` batch replays. Loaded on first use: papermill takes seconds to import.
"""

from __future__ import annotations

from nbtrack.core.lazy import lazy_exports

_EXPORTS = {
    "Sweep": "nbtrack.sweeps.api",
    "cancel": "nbtrack.sweeps.api",
    "get_sweep": "nbtrack.sweeps.api",
    "resume": "nbtrack.sweeps.api",
    "sweep": "nbtrack.sweeps.api",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
