from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.capture.kernels import Kernel, kernel_environment


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "store"
    kernel_environment(monkeypatch, store)
    return store


@pytest.fixture
def kernel(store_path: Path, tmp_path: Path) -> Iterator[Kernel]:
    k = Kernel(tmp_path)
    yield k
    try:
        k.close()
    except Exception:  # already shut down by the test
        pass
