"""Sorting and paging run rows: one function for the run table widget and the REST API.

Rows are flat run summaries (``nbtrack.api.rows.RunRow.flat``); a sort column is anything the filter
language resolves (``name``, ``status``, ``params.lr``, ``lr``, ``metrics.loss.last``, ``loss``).
Missing values (None, NaN) sort last in both directions; numbers sort before text; lists (tags)
sort by their joined text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from nbtrack.core.filters import resolve

T = TypeVar("T")
View = Callable[[Any], Mapping[str, Any]]


def sort_key(value: Any) -> tuple[int, float, str]:
    """A key that orders any cell value: numbers (and bools) < text; missing is handled apart."""
    if isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, (int, float)):
        return (0, float(value), "")
    if isinstance(value, (list, tuple)):
        return (1, 0.0, ", ".join(str(v) for v in value).lower())
    return (1, 0.0, str(value).lower())


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_is(row: Any) -> Mapping[str, Any]:
    return row


def sort_rows(rows: Sequence[T], sort: str | None, desc: bool = False, view: View = _as_is) -> list[T]:
    """`rows` ordered by column `sort` of `view(row)` (stable; input order when `sort` is empty)."""
    if not sort:
        return list(reversed(rows)) if desc else list(rows)
    present: list[tuple[tuple[int, float, str], T]] = []
    missing: list[tuple[tuple[int, float, str], T]] = []
    for row in rows:
        value = resolve(view(row), sort)
        (missing if _missing(value) else present).append((sort_key(value), row))
    present.sort(key=lambda item: item[0], reverse=desc)
    return [row for _, row in present] + [row for _, row in missing]


def page_rows(
    rows: Sequence[T], sort: str | None = None, desc: bool = False, offset: int = 0, limit: int | None = 50,
    view: View = _as_is,
) -> tuple[list[T], int]:
    """One page of `rows` sorted by `sort` (a column of `view(row)`, the row itself by default):
    (the page, the total number of rows)."""
    if offset < 0 or (limit is not None and limit < 0):
        raise ValueError("offset and limit must not be negative")
    ordered = sort_rows(rows, sort, desc, view)
    end = None if limit is None else offset + limit
    return ordered[offset:end], len(ordered)
