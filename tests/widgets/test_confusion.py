"""log_confusion_matrix stores records; show_confusion_matrix reads them back per step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nbtrack
from nbtrack.widgets.confusion import show_confusion_matrix


def test_logged_per_step_and_shown(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run = nbtrack.start("cm", store=store)
    nbtrack.log(step=4, loss=1.0)
    first = nbtrack.log_confusion_matrix(
        np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]), labels=["cat", "dog", "<b>x</b>"]
    )
    assert first["step"] == 4
    assert first["matrix"] == [[0, 0, 0]] * 3  # the labels given are not the values: nothing counted
    nbtrack.log_confusion_matrix(["cat", "dog", "dog", "bird"], ["cat", "dog", "cat", "bird"], step=9)
    widget = show_confusion_matrix()  # the active run, flushed first
    assert widget.title == "cm"
    assert [m["step"] for m in widget.matrices] == [4, 9] and widget.index == 1
    last = widget.matrices[1]
    assert last["labels"] == ["bird", "cat", "dog"]
    assert last["matrix"] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert last["rates"][2] == [0.0, 0.5, 0.5]
    assert last["classes"][1] == {"precision": 0.5, "recall": 1.0, "support": 1}
    assert last["accuracy"] == 0.75
    nbtrack.finish()
    assert show_confusion_matrix(run.id, step=4, store=store).index == 0
    assert nbtrack.get_run(run.id, store).state.confusions == 2
    with pytest.raises(LookupError, match="steps: 4, 9"):
        show_confusion_matrix(run.id, step=5, store=store)


def test_run_without_matrices(tmp_path: Path) -> None:
    with nbtrack.start("none", store=tmp_path / "store") as run:
        pass
    with pytest.raises(LookupError, match="no confusion matrix"):
        show_confusion_matrix(run.id, store=tmp_path / "store")
