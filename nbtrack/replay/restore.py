"""Runs inside a replay kernel (its first cell): restore the original's random state before each
cell (``nbtrack.capture.rng``), keyed by cell (`rng_key`: source hash and occurrence).

The replay process writes the states to a JSON file named by ``$NBTRACK_REPLAY_RNG``:
``{"cells": {key: {"before": {...}, "imported": {...}}}}``. Before each cell the states the
original had before it are restored; when the cell imports ``numpy.random`` for the first time,
the state numpy had right after that import in the original is set then.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

from nbtrack.capture.rng import ENV_STATES, ImportWatch, restore, rng_key


class Restorer:
    def __init__(self, cells: dict[str, Any]) -> None:
        self.cells = cells
        self.seen: Counter[str] = Counter()
        self.current: dict[str, Any] = {}
        self.restored = 0
        self.watch = ImportWatch(self._imported)

    def pre_run_cell(self, info: Any = None) -> None:
        source = str(getattr(info, "raw_cell", "") or "")
        key = rng_key(source, self.seen[source])
        self.seen[source] += 1
        self.current = self.cells.get(key) or {}
        if self.current.get("before") and restore(self.current["before"]):
            self.restored += 1

    def _imported(self) -> None:
        imported = self.current.get("imported") or {}
        if imported:
            restore(imported)


def install(shell: Any, path: str | None = None) -> None:
    """Register the restore hook on `shell` (states from `path`, else ``$NBTRACK_REPLAY_RNG``);
    returns nothing, so the setup cell shows nothing."""
    path = path or os.environ.get(ENV_STATES)
    if not path or shell is None:
        return
    with open(path, encoding="utf-8") as handle:
        cells = json.load(handle).get("cells") or {}
    restorer = Restorer(cells)
    shell.events.register("pre_run_cell", restorer.pre_run_cell)
    restorer.watch.install()
