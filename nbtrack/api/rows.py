"""One read path for run tables: typed rows from the store's index, formatted only at the edges.

``rows()`` is what every table reads (``nbtrack.runs()``'s DataFrame, ``nbtrack runs``, the run
table widget, the REST API's run pages and the lab sidebar): each run's summary as a `RunRow`,
with its effective status (a running run whose process died reads as crashed) and its duration.
``page()`` is its paged form: one sorted page and the number of matching runs, for tables that
show a page at a time. Filters, sorts and pages run in SQL in the store's index
(``nbtrack.store.query``), so only the rows returned become Python objects; a filter given as a
Python callable is the exception (every row is built and tested in Python).
Times stay epoch seconds here; the DataFrame, the REST payload and the CLI each format them.
Filters and sorts read what `RunRow.flat` holds (params and metric figures as their own columns,
the start as an ISO 8601 text, which sorts in time order).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from nbtrack.core.filters import Comparison, Filter, parse, predicate
from nbtrack.core.identity import liveness
from nbtrack.core.paging import page_rows
from nbtrack.core.records import RUNNING
from nbtrack.store.columns import FIGURES as METRIC_FIGURES
from nbtrack.store.columns import iso
from nbtrack.store.store import Store

FilterSpec = str | Mapping[str, Any] | Callable[[Mapping[str, Any]], bool] | None
__all__ = ["METRIC_FIGURES", "ColumnUse", "FilterSpec", "RunPage", "RunRow", "both", "column_use", "columns", "iso",
           "page", "rows"]
MISSING = float("nan")


@dataclass(frozen=True)
class RunRow:
    """A run as tables show it."""

    id: str
    name: str
    status: str  # effective: running, finished, failed, crashed, killed
    user: str
    host: str
    started: float  # epoch seconds
    ended: float | None
    duration: float  # seconds (until now for a running run)
    tags: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # key -> last, min, max, step, count
    notes: list[str] = field(default_factory=list)
    notebook: str | None = None
    kernel_id: str | None = None
    replay_of: str | None = None
    parent: str | None = None  # the run this one belongs to (a search's candidate, a trial)
    sweep: str | None = None

    @classmethod
    def from_summary(cls, fields: Mapping[str, Any], now: float) -> RunRow:
        """A row from the index's summary fields (``RunState.summary_fields``) at time `now`."""
        status, duration = _status_and_duration(fields, now)
        return cls(
            id=fields["id"], name=fields["name"], status=status, user=fields["user"], host=fields["host"],
            started=fields["started"], ended=fields["ended"], duration=duration, tags=list(fields["tags"]),
            params=dict(fields["params"]), metrics=dict(fields["metrics"]), notes=list(fields["notes"]),
            notebook=fields.get("notebook"), kernel_id=fields.get("kernel_id"), replay_of=fields.get("replay_of"),
            parent=fields.get("parent"),
            sweep=fields.get("sweep"),
        )

    @property
    def start(self) -> str | None:
        return iso(self.started)

    @cached_property
    def flat(self) -> dict[str, Any]:
        """The row as filters and sorts read it: ``params.<name>`` and ``metrics.<key>.<figure>``
        columns beside the base fields, the start as ISO text."""
        flat: dict[str, Any] = {
            "id": self.id, "name": self.name, "status": self.status, "user": self.user, "host": self.host,
            "start": self.start, "duration": self.duration, "tags": self.tags, "notes": self.notes,
            "notebook": self.notebook, "replay_of": self.replay_of, "params": self.params, "metrics": self.metrics,
            "parent": self.parent,
            "sweep": self.sweep,
        }
        for key, value in self.params.items():
            flat[f"params.{key}"] = value
        for key, figures in self.metrics.items():
            for which in METRIC_FIGURES:
                flat[f"metrics.{key}.{which}"] = figures[which]
        return flat

    def to_json(self) -> dict[str, Any]:
        """The REST API's ``RunSummary`` (and ``nbtrack runs --json``): start as ISO text."""
        return {
            "id": self.id, "name": self.name, "status": self.status, "user": self.user, "host": self.host,
            "start": self.start, "duration": self.duration, "tags": list(self.tags), "params": dict(self.params),
            "metrics": {k: dict(v) for k, v in self.metrics.items()}, "notes": list(self.notes),
            "notebook": self.notebook, "replay_of": self.replay_of, "sweep": self.sweep,
        }


def _status_and_duration(fields: Mapping[str, Any], now: float) -> tuple[str, float]:
    """The run's effective status at `now` and its duration (until now while it runs)."""
    status = liveness(fields["status"], fields["boot_id"], fields["pid"], fields["heartbeat"],
                      fields["last_seen"], now)
    started, ended = fields["started"], fields["ended"]
    end = ended if ended is not None else (now if status == RUNNING else fields["last_seen"])
    return status, max(end - started, 0.0)


@dataclass(frozen=True)
class RunPage:
    """One page of a run table: its rows and how many runs match in all."""

    rows: list[RunRow]
    total: int
    offset: int


def _parsed(spec: FilterSpec | Filter) -> Filter | None:
    """A filter the index can run in SQL (None: no filter); raises FilterError on bad text."""
    if spec is None or spec == "":
        return None
    if isinstance(spec, Filter):
        return spec
    if isinstance(spec, Mapping):
        return Filter(tuple(Comparison(str(k), "=", str(v)) for k, v in spec.items()), ())
    return parse(str(spec))


def both(first: FilterSpec, second: FilterSpec) -> FilterSpec | Filter:
    """A filter that keeps the runs both keep (still run in SQL unless one is a callable);
    raises FilterError when a text cannot be read."""
    if (callable(first) and not isinstance(first, Mapping)) or (callable(second) and not isinstance(second, Mapping)):
        keep_first, keep_second = predicate(first), predicate(second)
        return lambda row: keep_first(row) and keep_second(row)
    a, b = _parsed(first), _parsed(second)
    if a is None or b is None:
        return a or b
    return Filter(a.comparisons + b.comparisons, a.words + b.words)


@dataclass(frozen=True)
class ColumnUse:
    """What the runs a filter keeps fill in: how many have each param (not None) and each metric,
    and which of the run's own fields (``name``, ``user``, ``tags``, ``notebook``, ...) any has."""

    total: int
    params: dict[str, int]
    metrics: dict[str, int]
    filled: set[str]


def column_use(store: Store, filter: FilterSpec | Filter = None, now: float | None = None) -> ColumnUse:
    """The `ColumnUse` of the runs matching `filter`, counted in SQL (a callable filter: in Python)."""
    if callable(filter) and not isinstance(filter, Mapping):
        found = page(store, filter, None, limit=None, now=now).rows
        params: dict[str, int] = {}
        metrics: dict[str, int] = {}
        for row in found:
            for key in (k for k, v in row.params.items() if v is not None):
                params[key] = params.get(key, 0) + 1
            for key in row.metrics:
                metrics[key] = metrics.get(key, 0) + 1
        filled = {c for c in ("name", "user", "tags", "notebook") if any(getattr(r, c) for r in found)}
        if found:
            filled |= {"id", "status", "start", "duration"}
        return ColumnUse(len(found), params, metrics, filled)
    return ColumnUse(*store.index.column_use(_parsed(filter), now))


def rows(store: Store, filter: FilterSpec = None, now: float | None = None) -> list[RunRow]:
    """Every run of `store` matching `filter` (see ``nbtrack.core.filters``), oldest first."""
    return page(store, filter, sort=None, limit=None, now=now).rows


def page(
    store: Store,
    filter: FilterSpec | Filter = None,
    sort: str | None = "start",
    desc: bool = False,
    offset: int = 0,
    limit: int | None = 50,
    notebooks: Collection[str] | None = None,
    now: float | None = None,
) -> RunPage:
    """Runs matching `filter` ordered by column `sort` (``core.paging``: missing values last, ties
    oldest first), `limit` of them from `offset` on (all when None), and the number matching.
    `notebooks` keeps only runs recorded from one of those notebook paths."""
    if offset < 0 or (limit is not None and limit < 0):
        raise ValueError("offset and limit must not be negative")
    now = time.time() if now is None else now
    if callable(filter) and not isinstance(filter, Mapping):  # Python code: every row, tested here
        found = [RunRow.from_summary(f, now) for f in store.index.select(notebooks=notebooks, now=now)[0]]
        kept = [row for row in found if filter(row.flat)]
        shown, total = page_rows(kept, sort, desc, offset, limit, view=lambda row: row.flat)
        return RunPage(shown, total, offset)
    fields, total = store.index.select(_parsed(filter), sort, desc, offset, limit, notebooks, now)
    return RunPage([RunRow.from_summary(f, now) for f in fields], total, offset)


def _placed(n: int, where: list[int], values: list[Any]) -> list[Any]:
    column: list[Any] = [MISSING] * n
    for i, value in zip(where, values):
        column[i] = value
    return column


def columns(
    store: Store, filter: FilterSpec = None, now: float | None = None, final: bool | None = None,
    refresh: bool = True,
) -> dict[str, Sequence[Any]]:
    """What `rows` answers, by column: each key of `RunRow.flat` but ``metrics`` (its figures are
    columns) with one value per matching run, oldest first (``start`` as epoch seconds here; NaN
    where a run lacks a param or metric), for tables built a column at a time (``nbtrack.runs()``'s
    DataFrame) without a row object per run. `final` and `refresh`: as ``Index.table`` (with a
    filter given as text)."""
    now = time.time() if now is None else now
    if callable(filter) and not isinstance(filter, Mapping):
        found = [{**row.flat, "start": row.started} for row in rows(store, filter, now)]
        for flat in found:
            del flat["metrics"]
        keys = dict.fromkeys(k for flat in found for k in flat)
        return {k: [flat.get(k, MISSING) for flat in found] for k in keys}
    out = store.index.table(_parsed(filter), now=now, final=final, refresh=refresh)
    if not out:
        return {}
    import numpy as np

    n = len(out["id"])
    at = {run_id: i for i, run_id in enumerate(out["id"])}
    extra: dict[str, Any] = {}
    params: dict[str, tuple[list[int], list[Any]]] = {}
    for i, values in enumerate(out["params"]):
        for key, value in values.items():
            slot = params.get(key)
            if slot is None:
                slot = params[key] = ([], [])
            slot[0].append(i)
            slot[1].append(value)
    for key, (where, values) in params.items():
        column = np.full(n, MISSING, dtype=object)
        column[where] = values  # (a list of a list keeps it whole: assign item by item)
        extra[f"params.{key}"] = column.tolist() if not any(isinstance(v, list) for v in values) else _placed(
            n, where, values)
    rows_by_key: dict[str, list[tuple[Any, ...]]] = {}
    for row in out.pop("metric_rows"):
        rows_by_key.setdefault(row[0], []).append(row)
    for key, found_rows in rows_by_key.items():
        positions = np.fromiter((at[r[1]] for r in found_rows), dtype=np.int64, count=len(found_rows))
        for j, which in enumerate(METRIC_FIGURES, start=2):
            figures = np.full(n, MISSING)
            figures[positions] = np.array([r[j] for r in found_rows], dtype=np.float64)  # NULL -> NaN
            extra[f"metrics.{key}.{which}"] = figures
    return out | extra
