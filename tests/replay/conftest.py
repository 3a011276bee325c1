"""Fixtures of the replay tests (helpers that run the originals are in `originals.py`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replay.originals import ROOT, execute_original


@pytest.fixture(autouse=True)
def kernels_import_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels started by papermill/nbclient inherit os.environ: let them import this checkout."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.delenv("NBTRACK_REPLAY_OF", raising=False)
    monkeypatch.delenv("NBTRACK_NOTEBOOK", raising=False)


@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder with a small CSV dataset (600 handwritten digits)."""
    import pandas as pd
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("work")
    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X[:600]).rename(columns=str)
    frame["label"] = y[:600]
    frame.to_csv(folder / "digits.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def seeded_run(digits_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """(run id, store, folder) of one real papermill run of replay_seeded.ipynb, shared by the
    tests of a module (each replays it into the same store, as a team would)."""
    store = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        patch.setenv("NBTRACK_INDEX_DIR", str(tmp_path_factory.mktemp("index")))
        patch.setenv("NBTRACK_USER", "tester")
        yield execute_original("replay_seeded", digits_folder, store), store, digits_folder
