"""The read side of the Python API: run tables as DataFrames, and whole runs with their metrics,
artifacts, cells, notebook snapshots and environment."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.api.curves import metrics_frame, run_curves
from nbtrack.api.frame import all_columns, encodable_column
from nbtrack.api.rows import FilterSpec, RunRow, columns
from nbtrack.core.bulk import gc_paused
from nbtrack.core.identity import effective_status
from nbtrack.core.series import Curve
from nbtrack.core.state import RunState
from nbtrack.core.text import encodable
from nbtrack.store.compaction import run_columns
from nbtrack.store.store import MissingBlob, RunLog, Store, open_store

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

StoreLike = str | os.PathLike[str] | Store | None
BASE_COLUMNS = ["id", "name", "status", "user", "host", "start", "duration", "tags", "params", "notes", "notebook",
                "replay_of", "sweep"]


def as_store(store: StoreLike) -> Store:
    return store if isinstance(store, Store) else open_store(store)


def runs(filter: FilterSpec = None, store: StoreLike = None) -> pd.DataFrame:
    """Every run in the store as a DataFrame: one row a run, params and metric summaries as
    columns (``params.lr``, ``metrics.loss.last``/``min``/``max``), ``start`` as UTC datetimes."""
    import pandas as pd

    target = as_store(store)
    if filter is None or filter == "":  # every run: the finished ones' columns are kept (``api.frame``)
        found = all_columns(target)
    else:
        found = {name: encodable_column(values) for name, values in columns(target, filter).items()}
    names = BASE_COLUMNS + sorted(set(found) - set(BASE_COLUMNS) - {"metrics"})
    with gc_paused():
        frame = pd.DataFrame({encodable(name): found[name] for name in names} if found else [],
                             columns=[encodable(name) for name in names])
    frame["start"] = pd.to_datetime(frame["start"], unit="s", utc=True)
    return frame


def get_run(run_id: str, store: StoreLike = None) -> Run:
    target = as_store(store)
    return Run(target, target.resolve(run_id))


@dataclass
class Run:
    """One stored run, read back whole."""

    store: Store
    id: str

    @cached_property
    def log(self) -> RunLog:
        return self.store.read_run(self.id)

    @cached_property
    def state(self) -> RunState:
        return self.log.state()

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.log.records

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def status(self) -> str:
        return effective_status(self.state)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.state.params)

    @property
    def tags(self) -> list[str]:
        return list(self.state.tags)

    @property
    def notes(self) -> list[str]:
        return [n["text"] for n in self.state.notes]

    @property
    def data(self) -> list[dict[str, Any]]:
        return list(self.state.data)

    @property
    def artifacts(self) -> list[dict[str, Any]]:
        return list(self.state.artifacts)

    @property
    def models(self) -> list[dict[str, Any]]:
        """Model versions registered from this run: {name, version, ref, content, time}."""
        return [{**m, "ref": f"{m['name']}@{m['version']}"} for m in self.state.models]

    def row(self, now: float | None = None) -> RunRow:
        """The run as tables show it (``nbtrack.api.rows``)."""
        return RunRow.from_summary(self.state.summary_fields(), time.time() if now is None else now)

    def summary(self) -> dict[str, Any]:
        """The run's summary as JSON (the REST API's ``RunSummary``)."""
        return self.row().to_json()

    def records_of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("t") == kind]

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Every logged point: columns key (categorical), step, time, value (float64), in logging
        order; read by column from the log (``nbtrack.api.curves``)."""
        return metrics_frame(self.records)

    def columns(self, keys: Iterable[str] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Each metric (or those in `keys`) as float64 arrays: key -> (steps, times, values)."""
        return run_columns(self.records, keys)

    @property
    def stored_curves(self) -> str | None:
        """The blob of the metric envelopes the run stored when it finished (long runs only)."""
        if "state" in self.__dict__:
            return self.state.curves
        return self.store.index.curves(self.id)  # without reading the log

    def curves(self, points: int = 1000, keys: Iterable[str] | None = None) -> dict[str, Curve]:
        """Each metric (or those in `keys`) as a chart `points` pixels wide draws it: at most two
        points (the lowest and the highest) per pixel, with how many points were logged."""
        return run_curves(self, max(1, int(points)), keys)

    def history(self) -> pd.DataFrame:
        """Metrics wide: one row per step, one column per key (last value logged at that step)."""
        frame = self.metrics
        if frame.empty:
            import pandas as pd

            return pd.DataFrame()
        return frame.pivot_table(index="step", columns="key", values="value", aggfunc="last", dropna=False)

    def artifact(self, name: str) -> bytes:
        for entry in reversed(self.state.artifacts):
            if entry["name"] == name:
                return self._blob(entry["sha256"])
        known = ", ".join(a["name"] for a in self.state.artifacts) or "none"
        raise KeyError(f"run {self.id} has no artifact {name!r} (artifacts: {known})")

    def artifact_path(self, name: str, folder: str | os.PathLike[str] | None = None) -> Path:
        """The artifact written to a file (in `folder`, else a temporary folder); returns its path."""
        target = Path(folder or tempfile.mkdtemp(prefix=f"nbtrack-{self.id}-"))
        target.mkdir(parents=True, exist_ok=True)
        path = target / Path(name).name
        path.write_bytes(self.artifact(name))
        return path

    # ---- what capture recorded (cells, notebook snapshots, environment, warnings)
    @property
    def cells(self) -> list[dict[str, Any]]:
        """Cell executions in the order they ran: the ``cell`` records (``outputs`` is the sha256
        of the outputs blob; read them with `cell_outputs`)."""
        return sorted(self.records_of("cell"), key=lambda r: (r.get("seq", 0), r.get("ts", 0.0)))

    def cell_outputs(self, cell: dict[str, Any]) -> list[dict[str, Any]]:
        """The nbformat v4 outputs of one cell execution (capped and redacted as stored, large
        values read back from their blobs)."""
        from nbtrack.core.outputs import inline

        sha = cell.get("outputs")
        return [inline(o, self._blob) for o in json.loads(self._blob(sha))] if sha else []

    @property
    def snapshots(self) -> list[dict[str, Any]]:
        """The notebook snapshots: ``snapshot`` records (manifest, reason, source, path), oldest first
        (by time: checkpoints added as annotations come after the log's records when read)."""
        return sorted(self.records_of("snapshot"), key=lambda r: float(r.get("ts") or 0.0))

    def notebook(self, index: int = -1) -> Any:  # -> nbformat.NotebookNode
        """A notebook snapshot (the last by default) as a validated nbformat NotebookNode."""
        from nbtrack.core.snapshot import load_notebook

        snapshots = self.snapshots
        if not snapshots:
            raise KeyError(f"run {self.id} has no notebook snapshot")
        return load_notebook(self._blob, snapshots[index]["manifest"])

    def environment(self) -> dict[str, Any] | None:
        """The environment the run ran in (python, platform, packages, git, ...), or None."""
        return json.loads(self._blob(self.state.env)) if self.state.env else None

    def _blob(self, sha: str) -> bytes:
        """A blob this run refers to; a missing one is a `MissingBlob` that names the run."""
        try:
            return self.store.get_blob(sha)
        except MissingBlob as exc:
            raise MissingBlob(f"run {self.id}: {exc}") from None

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """Reproducibility warnings: {kind, message, cells}."""
        return list(self.state.warnings)
