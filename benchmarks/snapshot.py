"""Notebook snapshots stored cell by cell: time and bytes for a 100-cell notebook with 1 MB of
outputs, first snapshot and then after editing one cell.

In a child process: a 100-cell notebook (each code cell has a 10 KB stdout output: 1 MB in
all) is written to disk; a snapshot reads the .ipynb, strips widgets, redacts, caps outputs,
validates (nbformat) and writes per-cell blobs plus a manifest into a fresh local store,
exactly as ``%nbtrack snapshot`` does in the kernel's writer thread. Then one cell is edited
(source and output) and the notebook snapshotted again, five times (a different cell each
time, median reported): by the same kernel (the session remembers which cells it prepared), and
by a new process (content dedup only: every cell is hashed and redacted again, only the new
blobs written). Bytes are the growth of the store folder. The floor for the first snapshot's
bytes is the .ipynb file itself. nbformat is imported before timing (a kernel imports it in the
background at ``%nbtrack start``). No peer stores notebook snapshots, so no peer column.
Quick: 20 cells of 10 KB.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Row, all_met, dir_bytes, lt, main, pick, run_isolated, scratch_dir

NAME = "snapshot"
OUTPUT_BYTES = 10_000
TARGET_MS = 50.0
EDITS = 5


def _notebook(cells: int) -> dict[str, Any]:
    rng = random.Random(7)
    words = ["loss", "epoch", "accuracy", "batch", "0.731", "lr", "grad", "val", "step", "=", "\n"]
    code = []
    for i in range(cells):
        text = " ".join(rng.choice(words) for _ in range(OUTPUT_BYTES // 5))[:OUTPUT_BYTES]
        code.append({"cell_type": "code", "id": f"cell-{i}", "execution_count": i + 1, "metadata": {},
                     "source": f"for step in range(100):\n    print(train_step({i}, step))",
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]})
    return {"nbformat": 4, "nbformat_minor": 5, "cells": code,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}


def _snap(writer: Any, path: Path) -> float:
    from nbtrack.capture.notebook import Location, read_notebook

    t0 = time.perf_counter()
    notebook = read_notebook(Location(str(path), "env"))
    writer.store(notebook)
    return time.perf_counter() - t0


def _case(cells: int) -> dict[str, Any]:
    import nbformat  # noqa: F401 - warm, as the kernel's background import does

    from benchmarks._common import import_nbtrack

    import_nbtrack()
    from nbtrack.core.redact import Redactor
    from nbtrack.core.snapshot import SnapshotWriter
    from nbtrack.store.registry import open_backend
    from nbtrack.store.store import Store

    with scratch_dir() as folder:
        path = folder / "big.ipynb"
        notebook = _notebook(cells)
        path.write_text(json.dumps(notebook))
        store = Store(open_backend(str(folder / "store")), folder / "index.sqlite")
        size = dir_bytes(folder / "store")
        writer = SnapshotWriter(store.put_blob, Redactor.from_environ())
        first_s = _snap(writer, path)
        first_bytes = dir_bytes(folder / "store") - size
        same, fresh, added = [], [], []
        for edit in range(EDITS):
            cell = notebook["cells"][(edit * 7) % cells]
            cell["source"] += f"\n# edit {edit}"
            cell["outputs"][0]["text"] = cell["outputs"][0]["text"][::-1]
            path.write_text(json.dumps(notebook))
            size = dir_bytes(folder / "store")
            same.append(_snap(writer, path))
            added.append(dir_bytes(folder / "store") - size)
            fresh.append(_snap(SnapshotWriter(store.put_blob, Redactor.from_environ()), path))
        return {"first_s": first_s, "first_bytes": first_bytes, "file_bytes": path.stat().st_size,
                "second_s": statistics.median(same), "second_bytes": statistics.median(added),
                "second_new_process_s": statistics.median(fresh), "cell_bytes": len(json.dumps(notebook["cells"][0]))}


def measure(quick: bool = False) -> list[Row]:
    cells = 20 if quick else 100
    result = run_isolated("benchmarks.snapshot:_case", cells=cells)
    second = pick(result, "second_s", 1e3)
    second_bytes, cell_bytes = pick(result, "second_bytes"), pick(result, "cell_bytes")
    roughly_one_cell = None if second_bytes is None or cell_bytes is None else second_bytes < 2 * cell_bytes + 4096
    size = f"{cells} cells, {cells * OUTPUT_BYTES // 1000} KB of outputs"
    return [
        Row(NAME, "first snapshot", "ms", pick(result, "first_s", 1e3), note=size),
        Row(NAME, "first snapshot, bytes added", "KB", pick(result, "first_bytes", 1e-3),
            floor=pick(result, "file_bytes", 1e-3), note="floor: the .ipynb file"),
        Row(NAME, "after editing one cell", "ms", second, target=f"< {TARGET_MS:.0f} ms",
            met=all_met(lt(second, TARGET_MS)), note=f"median of {EDITS} edits, same kernel"),
        Row(NAME, "after editing one cell, bytes added", "KB", pick(result, "second_bytes", 1e-3),
            floor=pick(result, "cell_bytes", 1e-3), target="≈ one cell", met=roughly_one_cell,
            note="floor: one cell's JSON; plus the manifest"),
        Row(NAME, "after editing one cell, new process", "ms", pick(result, "second_new_process_s", 1e3),
            note="every cell hashed and redacted again; only new blobs written"),
    ]


if __name__ == "__main__":
    main(measure)
