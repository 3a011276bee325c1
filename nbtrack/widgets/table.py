"""The shared leaderboard: every run in the store, paged, sorted and filtered in the kernel.

The front end only ever holds one page (``limit`` rows, 50 by default), so 10,000 runs cost
the browser nothing; sorting, filtering (the ``nbtrack.core.filters`` language, e.g.
``resnet loss<0.3 status=finished``) and paging run in the kernel through the same
``page_rows`` the REST API uses. A background thread re-reads the index every
`refresh_interval` seconds and updates the page when runs appeared or changed (anyone's, as
the store is shared). Selecting runs and pressing Compare shows ``compare()`` below the table.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import anywidget
import ipywidgets
import traitlets

from nbtrack.api import FilterSpec, StoreLike, as_store, rows
from nbtrack.capture import colab
from nbtrack.core.filters import FilterError, predicate, resolve
from nbtrack.core.paging import page_rows
from nbtrack.widgets._common import front_end

BASE_COLUMNS = [
    ("status", "status", False),
    ("name", "name", False),
    ("user", "user", False),
    ("tags", "tags", False),
    ("start", "started", False),
    ("duration", "duration", True),
]


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


def table_columns(
    rows: Sequence[Mapping[str, Any]], max_params: int = 12, max_metrics: int = 12
) -> list[dict[str, Any]]:
    """Base columns, then the most common params and metrics (last value) across `rows`."""
    params: Counter[str] = Counter()
    metrics: Counter[str] = Counter()
    for row in rows:
        params.update((row.get("params") or {}).keys())
        metrics.update((row.get("metrics") or {}).keys())
    columns = [{"id": c, "label": label, "numeric": numeric} for c, label, numeric in BASE_COLUMNS]
    for key, _ in sorted(params.items(), key=lambda kv: (-kv[1], kv[0]))[:max_params]:
        columns.append({"id": f"params.{key}", "label": key, "numeric": False, "group": "params"})
    for key, _ in sorted(metrics.items(), key=lambda kv: (-kv[1], kv[0]))[:max_metrics]:
        columns.append({"id": f"metrics.{key}.last", "label": key, "numeric": True, "group": "metrics"})
    columns.append({"id": "id", "label": "id", "numeric": False})
    return columns


class RunGrid(anywidget.AnyWidget):
    """The table view: one page of rows; sort, filter, offset and selection come back from it."""

    _esm = front_end("table.js")
    _css = front_end("widgets.css")
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)  # rows matching the filter
    run_count = traitlets.Int(0).tag(sync=True)  # runs in the store
    offset = traitlets.Int(0).tag(sync=True)
    limit = traitlets.Int(50).tag(sync=True)
    sort = traitlets.Unicode("start").tag(sync=True)
    desc = traitlets.Bool(True).tag(sync=True)
    filter_text = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
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
        self._all: list[dict[str, Any]] = []
        self._matching: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self.reload()
        self.grid.observe(self._on_query_change, names=["filter_text"])
        self.grid.observe(self._on_page_change, names=["sort", "desc", "offset", "limit"])
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
        """Re-read every run from the store's index, then re-filter and re-page."""
        flats = [row.flat for row in rows(self.store, self._base_filter)]
        with self._lock:
            self._all = flats
            self.grid.run_count = len(flats)
            self.grid.columns = table_columns(flats)
            self.grid.updated = time.strftime("%H:%M:%S")
            self._apply_filter()

    def _apply_filter(self) -> None:
        try:
            keep = predicate(self.grid.filter_text)
            self.grid.error = ""
        except FilterError as exc:
            self.grid.error = str(exc)
            return
        with self._lock:
            self._matching = [row for row in self._all if keep(row)]
            self.grid.total = len(self._matching)
            if self.grid.offset >= max(self.grid.total, 1):
                self.grid.offset = 0
            self._page()

    def _page(self) -> None:
        grid = self.grid
        with self._lock:
            page, _total = page_rows(self._matching, grid.sort, grid.desc, grid.offset, grid.limit)
            columns = [c["id"] for c in grid.columns]
            grid.rows = [
                {"id": row["id"], "status": row.get("status", ""),
                 "cells": [format_cell(resolve(row, c), c) for c in columns]}
                for row in page
            ]

    def _on_query_change(self, _change: Any) -> None:
        self.grid.offset = 0
        self._apply_filter()

    def _on_page_change(self, _change: Any) -> None:
        self._page()

    def _refresh_loop(self) -> None:
        last_full = time.monotonic()
        while not self._stop.wait(self.refresh_interval):
            try:
                changed = self.store.index.refresh()
                running = any(r.get("status") == "running" for r in self._all)
                if changed or (running and time.monotonic() - last_full > 30):
                    self.reload()
                    last_full = time.monotonic()
            except Exception:  # the store went away or the widget closed: stop refreshing
                return

    # ---- compare
    def _on_front_end_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "compare":
            self.show_compare()
        elif content.get("type") == "refresh":
            self.reload()

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
