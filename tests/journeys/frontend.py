"""A notebook frontend played against a real kernel: the notebook as the frontend holds it
(sources can differ from the saved file), saving, running cells and Run All, restarting.

``lab`` sends each cell's id and tags with its execute request, as JupyterLab and Notebook 7 do
(``cellId`` and the cell's metadata); ``plain`` sends neither, as nbclient, papermill and VS Code
do. The kernel, the wire protocol, nbtrack and the store are real; only the clicking is played.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import nbformat

from nbtrack.api import Run, get_run
from nbtrack.store.store import open_store
from tests.capture.kernels import Kernel


def make_notebook(cells: list[tuple[str, str] | tuple[str, str, list[str]]]) -> nbformat.NotebookNode:
    """(kind, source[, tags]) -> a v4.5 notebook with ids cell-0, cell-1, ..."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for index, spec in enumerate(cells):
        kind, source = spec[0], spec[1]
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        cell.id = f"cell-{index}"
        if len(spec) > 2 and spec[2]:
            cell.metadata["tags"] = list(spec[2])
        nb.cells.append(cell)
    return nb


class Frontend:
    def __init__(self, path: Path, nb: nbformat.NotebookNode, kind: str = "lab") -> None:
        assert kind in ("lab", "plain")
        self.path = path
        self.nb = copy.deepcopy(nb)  # the frontend's model: unsaved edits live here
        self.kind = kind
        self.save()
        self.kernel = Kernel(path.parent)
        self.outputs: dict[int, str] = {}

    def save(self) -> None:
        nbformat.write(self.nb, self.path)

    def edit(self, index: int, source: str) -> None:
        """Type into a cell (not saved)."""
        self.nb.cells[index].source = source

    def run(self, *indices: int) -> str:
        """Run code cells; returns the stream text of the last one."""
        text = ""
        for index in indices:
            cell = self.nb.cells[index]
            assert cell.cell_type == "code"
            if self.kind == "lab":
                messages = self.kernel.execute(cell.source, cell.id, tags=list(cell.metadata.get("tags", [])))
            else:
                messages = self.kernel.execute(cell.source)
            text = "".join(m.get("text", "") for m in messages if m["type"] == "stream")
            errors = [m for m in messages if m["type"] == "error"]
            assert not errors, errors
            self.outputs[index] = text
        return text

    def run_all(self) -> None:
        self.run(*[i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"])

    def execute(self, code: str) -> str:
        """Code sent to the kernel by something other than a cell (set-up of the test)."""
        return "".join(m.get("text", "") for m in self.kernel.execute(code) if m["type"] == "stream")

    def restart(self) -> None:
        self.kernel.close()
        self.kernel = Kernel(self.path.parent)

    def close(self) -> None:
        try:
            self.kernel.close()
        except Exception:  # already shut down by the test
            pass


def runs(store: Path) -> list[Run]:
    opened = open_store(str(store))
    return [get_run(i, opened) for i in opened.run_ids()]


def the_run(store: Path) -> Run:
    found = runs(store)
    assert len(found) == 1, [r.id for r in found]
    return found[0]


def code_sources(nb: Any) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def unsaved(nb: Any) -> dict[str, str]:
    """Source that ran -> source in the file, for each cell the snapshot marks unsaved."""
    return {c.source: c.metadata["nbtrack"]["saved_source"] for c in nb.cells
            if c.metadata.get("nbtrack", {}).get("unsaved")}
