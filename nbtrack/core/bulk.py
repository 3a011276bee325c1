"""Making objects by the hundred thousand (index rows, table columns) without the garbage collector.

CPython's cycle collector runs every few hundred new container objects and, as they survive, scans
them again in older generations: building the rows or columns of 100,000 runs (a tuple, a list of
tags and a dict of params per run, none in a cycle) spends as much time in it as in the work.
`gc_paused` switches it off for such a stretch and restores it as it was.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collection while many acyclic objects are made (restored as it was)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
