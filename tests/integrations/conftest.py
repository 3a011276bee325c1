"""Integration tests train tiny models on CPU with each framework's real package; a framework
that is not installed skips its tests (``pip install -e ".[test-integrations]"`` installs all)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import nbtrack
from nbtrack.api.read import Run

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is first imported
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "store")
    os.environ["NBTRACK_STORE"] = path
    yield path
    os.environ.pop("NBTRACK_STORE", None)


def only_run(store: str) -> Run:
    """The one run in `store`, read back."""
    found = nbtrack.runs(store=store)
    assert len(found) == 1, list(found["name"])
    return nbtrack.get_run(found["id"][0], store=store)


def points(run: Run, key: str) -> tuple[list[float], list[float]]:
    """The steps and the values of every point of metric `key`, in logging order."""
    frame = run.metrics[run.metrics["key"] == key]
    return list(frame["step"]), list(frame["value"])
