"""Text for a terminal: user text escaped, numbers and durations short, tables aligned.

Every field of user text is passed through `printable` where it is printed; and the command's
whole output goes through `terminal_safe_output`, so that nothing a store holds (a run name, a
metric name, a note, a param, an error, a file name planted in the store) can send a terminal
escape sequence, whatever path prints it.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from nbtrack.core.text import printable

__all__ = ["fmt_bytes", "fmt_duration", "fmt_time", "fmt_value", "print_table", "printable", "terminal_safe_output"]

# C0 and C1 control characters (ESC, CSI, BEL, backspace...) and bidirectional overrides, shown
# escaped; line breaks, tabs and carriage returns (progress bars) pass
_UNSAFE = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(c) not in "\n\t\r"}
_UNSAFE.update({c: f"\\u{c:04x}" for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))})


class TerminalSafe:
    """A text stream that escapes control characters on their way to the terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(text.translate(_UNSAFE))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding...
        return getattr(self._stream, name)


@contextlib.contextmanager
def terminal_safe_output() -> Iterator[None]:
    """stdout and stderr escape control characters while the block runs."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalSafe(sys.stdout), TerminalSafe(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


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
