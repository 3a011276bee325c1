"""Reading nbformat JSON as it is found on disk and on the wire.

nbformat stores multi-line strings (cell sources, stream text, ``text/*`` data) either as one
string or as a list of lines; every reader goes through `multiline` so both read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def multiline(value: Any) -> str:
    """An nbformat multi-line string (a string or a list of lines) as one string."""
    if isinstance(value, list):
        return "".join(str(line) for line in value)
    return "" if value is None else str(value)


def cell_source(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string."""
    return multiline(cell.get("source", ""))
