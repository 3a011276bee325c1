"""Reading runs back: summaries for tables, and whole runs with their metrics and artifacts."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.core.filters import predicate
from nbtrack.core.identity import effective_status
from nbtrack.core.records import RunState
from nbtrack.core.series import decode_metrics
from nbtrack.store.store import Store, open_store

if TYPE_CHECKING:
    import pandas as pd

StoreLike = str | os.PathLike[str] | Store | None
FilterSpec = str | Mapping[str, Any] | Callable[[Mapping[str, Any]], bool] | None


def as_store(store: StoreLike) -> Store:
    return store if isinstance(store, Store) else open_store(store)


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def summary(state: RunState, now: float | None = None) -> dict[str, Any]:
    """A run as a JSON-ready summary (the REST API's RunSummary)."""
    now = time.time() if now is None else now
    status = effective_status(state, now)
    end = state.ended if state.ended is not None else (now if status == "running" else state.last_seen)
    return {
        "id": state.id,
        "name": state.name,
        "status": status,
        "user": state.user,
        "host": state.host,
        "start": _iso(state.started),
        "duration": max(end - state.started, 0.0),
        "tags": list(state.tags),
        "params": dict(state.params),
        "metrics": {
            k: {"last": m.last, "min": m.min, "max": m.max, "step": m.step, "count": m.count}
            for k, m in state.metrics.items()
        },
        "notebook": state.notebook,
        "replay_of": state.replay_of,
        "notes": [n["text"] for n in state.notes],
    }


def summaries(store: StoreLike = None, filter: FilterSpec = None) -> list[dict[str, Any]]:
    """Summaries of every run in the store matching `filter`, oldest first."""
    now = time.time()
    keep = predicate(filter)
    rows = []
    for state in as_store(store).index.states():
        row = summary(state, now)
        if keep(flat_row(row)):
            rows.append(row)
    return rows


def flat_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A summary with params and metric figures also as their own columns (for filters/tables)."""
    flat = dict(row)
    for key, value in row["params"].items():
        flat[f"params.{key}"] = value
    for key, figures in row["metrics"].items():
        for which in ("last", "min", "max"):
            flat[f"metrics.{key}.{which}"] = figures[which]
    return flat


def runs(filter: FilterSpec = None, store: StoreLike = None) -> pd.DataFrame:
    """Every run in the store as a DataFrame: one row a run, params and metric summaries as
    columns (``params.lr``, ``metrics.loss.last``/``min``/``max``)."""
    import pandas as pd

    rows = [flat_row(r) for r in summaries(store, filter)]
    base = ["id", "name", "status", "user", "host", "start", "duration", "tags", "params", "notes", "notebook", "replay_of"]
    frame = pd.DataFrame(rows, columns=base + sorted({k for r in rows for k in r} - set(base) - {"metrics"}))
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
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
    def log(self):  # type: ignore[no-untyped-def]  # -> nbtrack.store.store.RunLog
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

    def summary(self) -> dict[str, Any]:
        return summary(self.state)

    def records_of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("t") == kind]

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Every logged point: columns key, step, time, value (in logging order)."""
        import pandas as pd

        keys_col: list[str] = []
        steps_col: list[float] = []
        times_col: list[float] = []
        values_col: list[float] = []
        for record in self.records_of("metrics"):
            keys, steps, times, columns = decode_metrics(record)
            for key, values in zip(keys, columns):
                keys_col.extend([key] * len(values))
                steps_col.extend(steps)
                times_col.extend(times)
                values_col.extend(values)
        return pd.DataFrame({"key": keys_col, "step": steps_col, "time": times_col, "value": values_col})

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
                return self.store.get_blob(entry["sha256"])
        known = ", ".join(a["name"] for a in self.state.artifacts) or "none"
        raise KeyError(f"run {self.id} has no artifact {name!r} (artifacts: {known})")

    def artifact_path(self, name: str, folder: str | os.PathLike[str] | None = None) -> Path:
        """The artifact written to a file (in `folder`, else a temporary folder); returns its path."""
        target = Path(folder or tempfile.mkdtemp(prefix=f"nbtrack-{self.id}-"))
        target.mkdir(parents=True, exist_ok=True)
        path = target / Path(name).name
        path.write_bytes(self.artifact(name))
        return path
