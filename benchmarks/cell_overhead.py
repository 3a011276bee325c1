"""Microseconds nbtrack's cell hooks add to each cell, over 2,000 trivial cells.

One child process, one in-process IPython shell (``InteractiveShell``, no kernel and no ZMQ, so
the hooks' cost is not lost in messaging noise): 2,000 cells ``x = i`` run with
``store_history=True`` and each ``run_cell`` timed alone, first without nbtrack (before
``%load_ext nbtrack``), then with the extension loaded but no run (the hooks remember every
cell, so a run started later knows what ran before it), then under ``%nbtrack start`` (hooks,
output tee, and the background writer turning each execution into a ``cell`` record), then
without nbtrack again (after ``%unload_ext``). The figure is the median tracked cell minus the
median cell without nbtrack (both baselines pooled); the background writer's work shows up as
far as it competes for the GIL. The floor is the cell without nbtrack. No peer captures cells,
so there is no peer column. Quick: 200 cells.
"""

from __future__ import annotations

import os
import time
from array import array
from typing import Any

from benchmarks._common import Row, lt, main, pick, quantile, run_isolated, scratch_dir

NAME = "cell_overhead"
TARGET_US = 100.0


def _time_cells(shell: Any, n: int, offset: int, template: str = "x = {}") -> array:
    clock = time.perf_counter_ns
    samples = array("q", bytes(8 * n))
    run_cell = shell.run_cell
    for i in range(n):
        code = template.format(offset + i)
        t0 = clock()
        run_cell(code, store_history=True)
        samples[i] = clock() - t0
    return samples


def _case(cells: int) -> dict[str, Any]:
    from IPython.core.interactiveshell import InteractiveShell

    from benchmarks._common import import_nbtrack

    import_nbtrack()
    with scratch_dir() as folder:
        os.environ["NBTRACK_STORE"] = str(folder / "store")
        os.environ["NBTRACK_INDEX_DIR"] = str(folder / "index")
        shell = InteractiveShell.instance()
        _time_cells(shell, 200, 0)  # warm up
        before = _time_cells(shell, cells, 0)
        shell.run_cell("%load_ext nbtrack", store_history=True)
        loaded = _time_cells(shell, cells, cells)
        shell.run_cell('%nbtrack start "cell overhead"', store_history=True)
        tracked = _time_cells(shell, cells, 2 * cells)
        # numpy's global generator in use: its state is read before every cell, and stored
        # whenever a cell drew from it
        shell.run_cell("import numpy.random", store_history=True)
        tracked_numpy = _time_cells(shell, cells, 2 * cells)
        tracked_draw = _time_cells(shell, cells, 2 * cells, "x = {} + numpy.random.rand()")
        t0 = time.perf_counter()
        shell.run_cell("%nbtrack stop", store_history=True)
        stop_s = time.perf_counter() - t0
        shell.run_cell("%unload_ext nbtrack", store_history=True)
        after = _time_cells(shell, cells, 3 * cells)
        plain_draw = _time_cells(shell, cells, 3 * cells, "x = {} + numpy.random.rand()")
        from nbtrack.api import get_run
        from nbtrack.store.store import open_store

        store = open_store(str(folder / "store"))
        recorded = len(get_run(store.run_ids()[-1], store).cells)
    baseline = list(before) + list(after)
    return {
        "plain_median_ns": quantile(baseline, 0.5),
        "tracked_median_ns": quantile(list(tracked), 0.5),
        "loaded_median_ns": quantile(list(loaded), 0.5),
        "tracked_p99_ns": quantile(list(tracked), 0.99),
        "tracked_numpy_median_ns": quantile(list(tracked_numpy), 0.5),
        "tracked_draw_median_ns": quantile(list(tracked_draw), 0.5),
        "plain_draw_median_ns": quantile(list(plain_draw), 0.5),
        "plain_p99_ns": quantile(baseline, 0.99),
        "stop_s": stop_s,
        "recorded": recorded,
        "cells": cells,
    }


def measure(quick: bool = False) -> list[Row]:
    cells = 200 if quick else 2_000
    result = run_isolated("benchmarks.cell_overhead:_case", cells=cells)
    plain, tracked = pick(result, "plain_median_ns", 1e-3), pick(result, "tracked_median_ns", 1e-3)
    overhead = None if plain is None or tracked is None else tracked - plain
    recorded = None if result is None else int(result["recorded"])
    note = f"{cells} cells `x = i` in an in-process IPython shell; {recorded} cell records stored"
    return [
        Row(
            NAME,
            "added per cell (median)",
            "µs",
            overhead,
            target=f"< {TARGET_US:.0f} µs",
            met=lt(overhead, TARGET_US),
            note=note,
        ),
        Row(NAME, "tracked cell (median)", "µs", tracked, floor=plain),
        Row(NAME, "tracked cell, numpy.random imported (median)", "µs", pick(result, "tracked_numpy_median_ns", 1e-3),
            floor=plain, note="numpy's global random state checked before each cell (unchanged)"),
        Row(NAME, "tracked cell drawing numpy.random.rand() (median)", "µs",
            pick(result, "tracked_draw_median_ns", 1e-3), floor=pick(result, "plain_draw_median_ns", 1e-3),
            note="the state changed before every cell: read in full and stored"),
        Row(NAME, "loaded, no run (median)", "µs", pick(result, "loaded_median_ns", 1e-3), floor=plain,
            note="%load_ext nbtrack without a run: the hooks remember each cell"),
        Row(
            NAME,
            "tracked cell (p99)",
            "µs",
            pick(result, "tracked_p99_ns", 1e-3),
            floor=pick(result, "plain_p99_ns", 1e-3),
        ),
        Row(
            NAME,
            f"%nbtrack stop after {cells} cells",
            "ms",
            pick(result, "stop_s", 1e3),
            note="writes the remaining cell records, the rebuilt snapshot and the run's end",
        ),
    ]


if __name__ == "__main__":
    main(measure)
