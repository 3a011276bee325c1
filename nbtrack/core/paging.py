"""Sorting and paging run rows: one function for the run table widget and the REST API.

Rows are flat run summaries (``nbtrack.query.flat_row``); a sort column is anything the filter
language resolves (``name``, ``status``, ``params.lr``, ``lr``, ``metrics.loss.last``, ``loss``).
Missing values (None, NaN) sort last in both directions; numbers sort before text; lists (tags)
sort by their joined text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from nbtrack.core.filters import resolve

Row = Mapping[str, Any]


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


def sort_rows(rows: Sequence[Row], sort: str | None, desc: bool = False) -> list[Row]:
    """`rows` ordered by column `sort` (stable; input order when `sort` is empty)."""
    if not sort:
        return list(reversed(rows)) if desc else list(rows)
    present, missing = [], []
    for row in rows:
        value = resolve(row, sort)
        (missing if _missing(value) else present).append((sort_key(value), row))
    present.sort(key=lambda item: item[0], reverse=desc)
    return [row for _, row in present] + [row for _, row in missing]


def page_rows(
    rows: Sequence[Row], sort: str | None = None, desc: bool = False, offset: int = 0, limit: int | None = 50
) -> tuple[list[Row], int]:
    """One page of `rows` sorted by `sort`: (the page, the total number of rows)."""
    if offset < 0 or (limit is not None and limit < 0):
        raise ValueError("offset and limit must not be negative")
    ordered = sort_rows(rows, sort, desc)
    end = None if limit is None else offset + limit
    return ordered[offset:end], len(ordered)
