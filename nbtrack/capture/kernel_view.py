"""The notebook as the kernel ran it: what executed, laid over the saved file.

The kernel's view is the truth: a cell that ran in this kernel is recorded with the source,
execution count, outputs and tags it ran with, whatever the file on disk says (it can be stale
at any moment: unsaved edits, autosave lag). The saved file only fills in what did not run
(markdown, cells never executed in this kernel) and where each executed cell sits.

Executed cells are paired with the file's code cells:

1. by frontend cell id (JupyterLab, Notebook 7, Colab send it);
2. else by identical source (among several file cells with that source, the one whose saved
   execution count is the one it ran with: papermill saves each cell as it runs);
3. else by position: an executed cell left over between two paired cells takes the unpaired
   code cell between their places in the file when it is the only one there, else the first
   one there that resembles it (an edited cell whose new source was never saved: papermill,
   nbclient, VS Code and cells run before ``%load_ext`` give no id).

An executed cell that pairs with nothing was added and not saved when the file is older than
its run: it is inserted after the cell that ran before it; when the file was saved after it ran
(or is a live notebook: Colab), it was deleted and is left out. A paired cell whose file
source differs from what ran is marked ``metadata.nbtrack.unsaved`` (with the file's source as
``saved_source``); the cell still running when the snapshot is taken (a run finished by the cell
itself: ``%nbtrack stop``, ``nbtrack.start()`` in a loop) is marked ``running``. Tags come from
the frontend (``cell_meta``), else from the paired file cell.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nbtrack.core.nbjson import cell_source
from nbtrack.core.snapshot import new_cell_id, rebuild_notebook

UNSAVED_KEY = "nbtrack"


@dataclass
class Ran:
    """A cell as this kernel last ran it."""

    key: str  # cell identity (``core.cells.cell_key``)
    source: str  # as stored (redacted)
    cell_id: str | None
    tags: tuple[str, ...] | None  # None: the frontend did not say
    execution_count: int | None
    started: float | None = None
    outputs: list[dict[str, Any]] | None = None  # None: unknown (ran before nbtrack was loaded)
    running: bool = False  # still running when the snapshot was taken (its outputs so far)
    kind: str | None = None  # ``parameters`` | ``injected-parameters``, as the run decided


@dataclass
class Overlay:
    notebook: dict[str, Any]
    saved: dict[str, str]  # ran key -> the file's (different) source, for unsaved edits
    tags: dict[str, tuple[str, ...]]  # ran key -> its tags (frontend's, else the file's)


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def pair(file_cells: Sequence[tuple[str | None, str]], ran: Sequence[Ran],
         counts: Sequence[int | None] = ()) -> dict[str, int]:
    """Ran key -> index into `file_cells` (code cells as (id, source), in file order; `counts`:
    their saved execution counts, when known)."""
    paired: dict[str, int] = {}
    taken: set[int] = set()
    ids = {cid: i for i, (cid, _) in enumerate(file_cells) if cid}
    for cell in ran:
        index = ids.get(cell.cell_id) if cell.cell_id else None
        if index is not None and index not in taken:
            paired[cell.key] = index
            taken.add(index)
    by_source: dict[str, list[int]] = {}  # `_same` sources: one lookup per executed cell, not a scan
    for index, (_, source) in enumerate(file_cells):
        by_source.setdefault(source.strip(), []).append(index)
    for cell in ran:
        if cell.key in paired:
            continue
        same = [index for index in by_source.get(cell.source.strip(), ())
                if index not in taken and not (cell.cell_id and file_cells[index][0]
                                               and file_cells[index][0] != cell.cell_id and cell.cell_id in ids)]
        if same:
            ran_as = cell.execution_count
            counted = [i for i in same if ran_as is not None and i < len(counts) and counts[i] == ran_as]
            paired[cell.key] = index = (counted or same)[0]
            taken.add(index)
    order = list(ran)
    for position, cell in enumerate(order):
        if cell.key in paired or (cell.cell_id and cell.cell_id not in ids and ids):
            continue  # a frontend id the file does not have: a new cell, never saved
        before = max((paired[c.key] for c in order[:position] if c.key in paired), default=-1)
        later = [paired[c.key] for c in order[position + 1:] if c.key in paired]
        after = min(later, default=len(file_cells))
        free = [i for i in range(before + 1, after) if i not in taken]
        if len(free) == 1 and later and after > before:
            found: int | None = free[0]  # the one cell between two that are known
        else:
            found = next((i for i in free if _resembles(file_cells[i][1], cell.source)), None)
        if found is not None:
            paired[cell.key] = found
            taken.add(found)
    return paired


def _resembles(a: str, b: str) -> bool:
    """Two versions of one cell: most of their text in common."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= RESEMBLANCE


RESEMBLANCE = 0.6


def overlay(notebook: dict[str, Any], ran: Iterable[Ran], saved_at: float | None = None) -> Overlay:
    """`notebook` (the saved file, nbformat JSON; not modified, saved at `saved_at`; None: a
    live notebook) with what ran laid over it."""
    ran = list(ran)
    nb = copy.deepcopy(notebook)
    cells: list[dict[str, Any]] = nb.get("cells") or []
    code_at = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    file_cells = [(c.get("id") if isinstance(c.get("id"), str) else None, cell_source(c))
                  for c in (cells[i] for i in code_at)]
    counts = [c.get("execution_count") if isinstance(c.get("execution_count"), int) else None
              for c in (cells[i] for i in code_at)]
    paired = pair(file_cells, ran, counts)
    saved: dict[str, str] = {}
    tags: dict[str, tuple[str, ...]] = {}
    for cell in ran:
        if cell.key not in paired:
            continue
        target = cells[code_at[paired[cell.key]]]
        metadata = dict(target.get("metadata") or {})
        file_tags = tuple(metadata.get("tags") or ())
        tags[cell.key] = _with_kind(cell.tags if cell.tags is not None else file_tags, cell.kind)
        if tags[cell.key] != file_tags:
            metadata["tags"] = list(tags[cell.key])
            if not tags[cell.key]:
                metadata.pop("tags")
        file_source = cell_source(target)
        if not _same(file_source, cell.source):
            saved[cell.key] = file_source
            metadata[UNSAVED_KEY] = {**(metadata.get(UNSAVED_KEY) or {}), "unsaved": True,
                                     "saved_source": file_source}
            target["outputs"] = []
        if cell.running:
            metadata[UNSAVED_KEY] = {**(metadata.get(UNSAVED_KEY) or {}), "running": True}
        target["metadata"] = metadata
        if cell.key in saved:  # else the file's, which may differ in whitespace IPython's history strips
            target["source"] = cell.source
        target["execution_count"] = cell.execution_count
        if cell.outputs is not None:
            target["outputs"] = list(cell.outputs)
    # executed cells the file does not have: after the cell that ran before them
    placed: list[tuple[int, dict[str, Any]]] = []
    last = -1
    for cell in ran:
        if cell.key in paired:
            last = code_at[paired[cell.key]]
            continue
        if saved_at is None or (cell.started is not None and saved_at >= cell.started):
            continue  # deleted after it ran
        tags[cell.key] = _with_kind(cell.tags or (), cell.kind)
        placed.append((last, _code_cell(cell)))
    for offset, (after, new) in enumerate(sorted(placed, key=lambda p: p[0])):
        cells.insert(after + 1 + offset, new)
    nb["cells"] = cells
    return Overlay(nb, saved, tags)


def _code_cell(cell: Ran) -> dict[str, Any]:
    cid = cell.cell_id if cell.cell_id else new_cell_id()
    return {"cell_type": "code", "id": cid, "execution_count": cell.execution_count,
            "metadata": _metadata(cell), "outputs": list(cell.outputs or []), "source": cell.source}


def _with_kind(tags: tuple[str, ...], kind: str | None) -> tuple[str, ...]:
    return (*tags, kind) if kind and kind not in tags else tags


def _metadata(cell: Ran) -> dict[str, Any]:
    tags = _with_kind(cell.tags or (), cell.kind)
    metadata: dict[str, Any] = {"tags": list(tags)} if tags else {}
    if cell.running:
        metadata[UNSAVED_KEY] = {"running": True}
    return metadata


def rebuild(ran: Iterable[Ran], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A notebook of the executed cells alone (no file to lay them over), in the order given."""
    ran = list(ran)
    nb = rebuild_notebook(
        ({"source": c.source, "cell_id": c.cell_id, "execution_count": c.execution_count,
          "tags": list(c.tags or ()), "outputs": c.outputs or []} for c in ran),
        metadata,
    )
    for cell, built in zip(ran, nb["cells"]):
        built["metadata"] = _metadata(cell)
    return nb
