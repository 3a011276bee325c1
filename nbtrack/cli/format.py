"""Text for a terminal: user text escaped, numbers and durations short, tables aligned."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from nbtrack.core.text import printable

__all__ = ["fmt_bytes", "fmt_duration", "fmt_time", "fmt_value", "print_table", "printable"]


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
    clean = [[printable(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in clean)]) for i, h in enumerate(headers)]
    for line in (headers, ["-" * w for w in widths], *clean):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


def fmt_bytes(size: float) -> str:
    """A size in decimal units: ``512 B``, ``4.2 MB``, ``1.1 GB``."""
    for unit in ("B", "KB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def fmt_time(ts: float | None) -> str:
    """Epoch seconds as ``YYYY-MM-DD HH:MM`` (UTC); empty for None."""
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if ts else ""
