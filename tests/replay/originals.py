"""Real tracked originals for replay tests: fixture notebooks executed by papermill (or, for an
interactive session with a re-run cell, cell by cell through nbclient) in real kernels."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "tests" / "notebooks"


def execute_original(name: str, folder: Path, store: Path, parameters: dict | None = None) -> str:
    """Execute tests/notebooks/<name>.ipynb with papermill in `folder`, tracked into `store`, as a
    user would (the notebook file is known to the kernel); returns the run id it recorded."""
    import papermill

    output = folder / f"{name}.ipynb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NBTRACK_STORE", str(store))
        patch.setenv("NBTRACK_NOTEBOOK", str(output))
        papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(output), parameters=parameters or {},
                                   kernel_name="python3", cwd=str(folder), progress_bar=False)
    return newest_run(store)


def execute_interactively(name: str, folder: Path, store: Path, sequence: Sequence[int],
                          deleted: Sequence[int] = ()) -> str:
    """Run the cells of tests/notebooks/<name>.ipynb in `sequence` (re-runs and out-of-order
    runs, like a person clicking in JupyterLab) in one real kernel, saving the notebook file
    before each cell as a frontend would; the cells `deleted` are gone from the file before the
    last cell runs (deleted after they ran). Returns the run id."""
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    env = dict(os.environ, NBTRACK_STORE=str(store), NBTRACK_NOTEBOOK=str(path))
    client = NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(folder)}})
    with client.setup_kernel(env=env):
        for position, index in enumerate(sequence):
            saved = nbformat.from_dict(nb)
            if position == len(sequence) - 1:
                saved.cells = [c for i, c in enumerate(nb.cells) if i not in deleted]
            nbformat.write(saved, path)
            client.execute_cell(nb.cells[index], index)
    return newest_run(store)


def newest_run(store: Path) -> str:
    from nbtrack.store.local import LocalBackend
    from nbtrack.store.store import Store

    return Store(LocalBackend(str(store))).run_ids()[-1]
