"""The Python API: ``write`` (the active run and its verbs), ``read`` (run tables and stored runs),
``rows`` (the one read path every table uses) and ``lifecycle`` (hooks on every run)."""

from nbtrack.api.data import get_data, track_data  # data versions (stored content, named and numbered)
from nbtrack.api.models import model_path, promote_model, register_model  # the model registry
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
)

__all__ = [
    "FilterSpec", "Run", "RunRow", "StoreLike", "active_run", "as_store", "finish", "flush", "get_data", "get_run",
    "log", "log_artifact", "log_confusion_matrix", "log_params", "model_path", "note", "promote_model",
    "register_model", "rows", "runs", "start", "tag", "track_data",
]
