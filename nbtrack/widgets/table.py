"""The shared leaderboard: every run in the store, paged, sorted and filtered in the kernel.

The front end only ever holds one page (``limit`` rows, 50 by default), and so does the kernel:
sorting, filtering (the ``nbtrack.core.filters`` language, e.g. ``resnet loss<0.3
status=finished``) and paging run in SQL in the store's index through ``nbtrack.api.rows.page``,
the same paged read the REST API uses, so 100,000 runs cost a page. Columns come from the runs the
filter keeps (``rows.column_use``): the run's own fields, then its params, then its metrics (last
value), most common first; the column chooser shows or hides any of them. A background thread
looks at the store's index every `refresh_interval` seconds and reloads when any run appeared or
changed: it compares the index's generation with the one it showed, because the index is shared
by the machine's processes (the server behind the lab sidebar, the CLI) and another one may have
brought it up to date first.
A failed refresh is shown in the table and the next one tries again. Selecting runs and
pressing Compare shows ``compare()`` below the table.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import anywidget
import ipywidgets
import traitlets

from nbtrack.api import FilterSpec, StoreLike, as_store
from nbtrack.api.rows import ColumnUse, both, column_use, page
from nbtrack.capture import colab
from nbtrack.core.filters import FilterError, resolve
from nbtrack.widgets._common import front_end, stylesheet

# The run's own columns: id, label, numeric. Name and id stay pinned on the left.
RUN_COLUMNS = [
    ("name", "name", False),
    ("id", "id", False),
    ("status", "status", False),
    ("user", "user", False),
    ("tags", "tags", False),
    ("start", "started", False),
    ("duration", "duration", True),
]
SHOWN_PARAMS = SHOWN_METRICS = 10  # shown at first; the column chooser offers the rest
RELOAD_RUNNING = 30.0  # seconds: a running run's duration moves even when its log does not


def format_cell(value: Any, column: str = "") -> str:
    """A cell as display text (the front end shows it as text, never HTML)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column == "duration" and isinstance(value, (int, float)):
        seconds = int(value)
        h, rest = divmod(seconds, 3600)
        m, s = divmod(rest, 60)
        return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s" if m else f"{value:.1f}s"
    if column == "start" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def table_columns(use: ColumnUse, choice: Mapping[str, bool] | None = None) -> list[dict[str, Any]]:
    """The columns of the runs a filter keeps (`use`): the run's own fields that have a value,
    then every param and metric (last value) that one of them has, most common first. The
    first `SHOWN_PARAMS` / `SHOWN_METRICS` are shown unless `choice` (column id -> shown) says
    otherwise; name and id are always shown."""
    params, metrics, filled = use.params, use.metrics, use.filled
    choice = choice or {}
    columns: list[dict[str, Any]] = [
        {"id": c, "label": label, "numeric": numeric, "group": "run",
         "shown": c in ("name", "id") or choice.get(c, True)}
        for c, label, numeric in RUN_COLUMNS if c in filled or c in ("name", "id")
    ]
    ranked = sorted(params.items(), key=lambda kv: (-kv[1], kv[0]))
    for i, (key, _) in enumerate(ranked):
        column_id = f"params.{key}"
        columns.append({"id": column_id, "label": key, "numeric": False, "group": "params",
                        "shown": choice.get(column_id, i < SHOWN_PARAMS)})
    ranked = sorted(metrics.items(), key=lambda kv: (-kv[1], kv[0]))
    for i, (key, _) in enumerate(ranked):
        column_id = f"metrics.{key}.last"
        columns.append({"id": column_id, "label": key, "numeric": True, "group": "metrics",
                        "shown": choice.get(column_id, i < SHOWN_METRICS)})
    return columns


class RunGrid(anywidget.AnyWidget):
    """The table view: one page of rows; sort, filter, offset, selection and the column choice
    come back from it."""

    _esm = front_end("table.js")
    _css = stylesheet("widgets.css")
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)  # every column the chooser offers
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)  # the page: cells of the shown columns
    total = traitlets.Int(0).tag(sync=True)  # rows matching the filter
    run_count = traitlets.Int(0).tag(sync=True)  # runs in the store
    offset = traitlets.Int(0).tag(sync=True)
    limit = traitlets.Int(50).tag(sync=True)
    sort = traitlets.Unicode("start").tag(sync=True)
    desc = traitlets.Bool(True).tag(sync=True)
    filter_text = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)  # the filter cannot be read
    refresh_error = traitlets.Unicode("").tag(sync=True)  # the last refresh failed
    choice = traitlets.Dict().tag(sync=True)  # column id -> shown, as the user chose
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    updated = traitlets.Unicode("").tag(sync=True)


class RunTable(ipywidgets.VBox):
    """``nbtrack.table()``: the run grid plus an area where Compare shows its view."""

    def __init__(
        self,
        filter: FilterSpec = None,
        store: StoreLike = None,
        limit: int = 50,
        refresh_interval: float = 5.0,
    ) -> None:
        colab.enable_widgets()
        self.store = as_store(store)
        self.grid = RunGrid(limit=limit, filter_text=filter if isinstance(filter, str) else "")
        self.compare_area = ipywidgets.Output()
        super().__init__([self.grid, self.compare_area])
        self._base_filter = None if isinstance(filter, str) else filter  # a mapping/callable
        self._spec: Any = None  # the base filter and the filter box together
        self._use: ColumnUse | None = None  # what the kept runs fill in (the columns' source)
        self._shown_generation = -1  # the index's generation last shown
        self._running = False  # the page shows a running run (its duration moves)
        self._loaded = 0.0  # monotonic time of the last reload
        self._lock = threading.RLock()
        self.reload()
        self.grid.observe(self._on_query_change, names=["filter_text"])
        self.grid.observe(self._on_page_change, names=["sort", "desc", "offset", "limit"])
        self.grid.observe(self._on_choice_change, names=["choice"])
        self.grid.on_msg(self._on_front_end_message)
        self._stop = threading.Event()
        self.refresh_interval = refresh_interval
        if refresh_interval > 0:
            threading.Thread(target=self._refresh_loop, name="nbtrack-table", daemon=True).start()

    @property
    def selected(self) -> list[str]:
        return list(self.grid.selected)

    # ---- data
    def reload(self) -> None:
        """Look at the store's index again: count, re-filter, pick the columns and re-page."""
        index = self.store.index
        index.refresh()
        with self._lock:
            self._shown_generation = index.generation()
            self._loaded = time.monotonic()
            self.grid.run_count = page(self.store, self._base_filter, None, limit=0).total
            self.grid.updated = time.strftime("%H:%M:%S")
            self._apply_filter()

    def refresh(self, force: bool = False) -> bool:
        """Reload if any run appeared or changed since the table last looked (or `force`);
        returns whether it reloaded. A failure is shown in the table (and not raised): the
        next refresh tries again."""
        try:
            with self._lock:
                stale = force or (self._running and time.monotonic() - self._loaded >= RELOAD_RUNNING)
                if not stale:
                    self.store.index.refresh()
                    stale = self.store.index.generation() != self._shown_generation
                if stale:
                    self.reload()
                self.grid.refresh_error = ""
            return stale
        except Exception as exc:
            self.grid.refresh_error = (
                f"Could not refresh at {time.strftime('%H:%M:%S')}: {type(exc).__name__}: {exc}"
                + (f" (trying again every {self.refresh_interval:g} s)" if self.refresh_interval > 0 else "")
            )
            return False

    def _apply_filter(self) -> None:
        try:
            spec = both(self._base_filter, self.grid.filter_text)
            use = column_use(self.store, spec)
            self.grid.error = ""
        except FilterError as exc:
            self.grid.error = str(exc)
            return
        with self._lock:
            self._spec, self._use = spec, use
            self.grid.total = use.total
            self.grid.columns = table_columns(use, self.grid.choice)
            if self.grid.offset >= max(self.grid.total, 1):
                self.grid.offset = 0
            self._page()

    def _page(self) -> None:
        grid = self.grid
        with self._lock:
            shown = page(self.store, self._spec, grid.sort, grid.desc, grid.offset, grid.limit)
            grid.total = shown.total
            columns = [c["id"] for c in grid.columns if c["shown"]]
            flats = [row.flat for row in shown.rows]
            self._running = any(row.status == "running" for row in shown.rows)
            grid.rows = [
                {"id": row["id"], "status": row.get("status", ""),
                 "cells": {c: format_cell(resolve(row, c), c) for c in columns}}
                for row in flats
            ]

    def _on_query_change(self, _change: Any) -> None:
        self.grid.offset = 0
        self._apply_filter()

    def _on_page_change(self, _change: Any) -> None:
        self._page()

    def _on_choice_change(self, _change: Any) -> None:
        with self._lock:
            if self._use is not None:
                self.grid.columns = table_columns(self._use, self.grid.choice)
            self._page()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.refresh_interval):
            if self.grid.comm is None:  # the widget was closed
                return
            self.refresh()

    # ---- compare
    def _on_front_end_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "compare":
            self.show_compare()
        elif content.get("type") == "refresh":
            self.refresh(force=True)

    def show_compare(self) -> None:
        from IPython.display import display

        from nbtrack.widgets.compare import compare

        ids = self.selected
        with self.compare_area:
            self.compare_area.clear_output()
            if len(ids) < 2:
                print("Select at least two runs to compare.")
                return
            try:
                display(compare(*ids, store=self.store))
            except Exception as exc:
                print(f"nbtrack: cannot compare {', '.join(ids)}: {exc}")

    def close(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
        self.grid.close()
        self.compare_area.close()
        super().close()


def table(
    filter: FilterSpec = None, store: StoreLike = None, limit: int = 50, refresh_interval: float = 5.0
) -> RunTable:
    """The shared run table (leaderboard) of the store: every run of every user, sortable by any
    column, filterable (``resnet loss<0.3 tag=faces``), paged through the kernel, refreshed as
    runs arrive; select runs and press Compare."""
    return RunTable(filter, store=store, limit=limit, refresh_interval=refresh_interval)
