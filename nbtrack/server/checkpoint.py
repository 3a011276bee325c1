"""Checkpoint on save: when a notebook is saved while a run recorded from it is running, add a
snapshot of the saved notebook to that run, so the run's history holds the notebook as it
evolved.

The server is not the run's writer (each run has exactly one: its kernel), so the snapshot goes
in as an annotation (``Store.annotate``), with the cells stored as blobs like every snapshot
(``nbtrack.core.snapshot``). The work runs in one background thread, in save order, so a save
never waits on the store; a failure is logged once and never fails the save.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import nbformat

from nbtrack.api import rows
from nbtrack.core import records
from nbtrack.core.records import RUNNING
from nbtrack.core.redact import Redactor
from nbtrack.core.snapshot import SnapshotWriter
from nbtrack.server.paths import notebook_matcher
from nbtrack.store.store import Store

REASON = "save"


class SaveCheckpointer:
    """A contents manager post-save hook (``register_post_save_hook``)."""

    def __init__(self, open_store: Any, root_dir: str, log: logging.Logger) -> None:
        self._open_store = open_store  # () -> Store, opened on first use
        self._root_dir = root_dir
        self._log = log
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="nbtrack-checkpoint")
        self._writer: SnapshotWriter | None = None
        self._reported: set[str] = set()
        self.last: Future[list[str]] | None = None

    def __call__(self, model: dict[str, Any], os_path: str, contents_manager: Any = None, **_: Any) -> None:
        try:
            if model.get("type") != "notebook":
                return
            self.last = self._pool.submit(self.checkpoint, str(model.get("path") or ""), os_path)
        except Exception as exc:  # never fail the user's save
            self._report("schedule", exc)

    def checkpoint(self, path: str, os_path: str) -> list[str]:
        """Snapshot the notebook saved at `os_path` (server path `path`) into every running run
        recorded from it; returns those runs' ids."""
        try:
            store = self._open_store()
            run_ids = running_runs_of(store, self._root_dir, path)
            if not run_ids:
                return []
            record = self._snapshot(store, os_path)
            for run_id in run_ids:
                store.annotate(run_id, record)
            return run_ids
        except Exception as exc:
            self._report("checkpoint", exc)
            return []

    def _snapshot(self, store: Store, os_path: str) -> records.SnapshotRecord:
        if self._writer is None or self._writer.put_blob != store.put_blob:
            self._writer = SnapshotWriter(store.put_blob, Redactor.from_environ())
        with open(os_path, encoding="utf-8") as fh:
            notebook = nbformat.read(fh, as_version=4)
        manifest, cells = self._writer.store(notebook)
        return records.snapshot(manifest, cells, REASON, "disk", os_path)

    def _report(self, what: str, exc: Exception) -> None:
        key = f"{what}:{type(exc).__name__}"
        if key not in self._reported:
            self._reported.add(key)
            self._log.warning("nbtrack: could not record a notebook checkpoint on save: %r", exc)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def running_runs_of(store: Store, root_dir: str, path: str) -> list[str]:
    """Ids of the running runs whose recorded notebook is the one at server path `path`."""
    matches = notebook_matcher(root_dir, path)
    return [row.id for row in rows(store, {"status": RUNNING}) if matches(row.notebook)]
