"""The Python API: ``write`` (the active run and its verbs), ``read`` (run tables and stored runs),
``rows`` (the one read path every table uses) and ``lifecycle`` (hooks on every run)."""

from nbtrack.api.read import Run, StoreLike, as_store, get_run, runs
from nbtrack.api.rows import FilterSpec, RunRow, rows
from nbtrack.api.write import (
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

__all__ = [
    "FilterSpec", "Run", "RunRow", "StoreLike", "active_run", "as_store", "finish", "flush", "get_run", "log",
    "log_artifact", "log_confusion_matrix", "log_params", "note", "rows", "runs", "start", "tag", "track_data",
]
