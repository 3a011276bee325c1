"""Text for a terminal: user text escaped, numbers and durations short, tables aligned."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from nbtrack.core.text import printable

__all__ = ["fmt_duration", "fmt_value", "print_table", "printable"]


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else printable(str(value))


def fmt_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns; every cell is made printable here, whatever the caller passed."""
    titles = [printable(h) for h in headers]  # metric names are user text too
    clean = [[printable(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in clean)]) for i, h in enumerate(titles)]
    for line in (titles, ["-" * w for w in widths], *clean):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
