from __future__ import annotations

from pathlib import Path

import pytest

from tests.capture.kernels import kernel_environment


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Kernels started now import this checkout and record into this test's store."""
    store = tmp_path / "store"
    kernel_environment(monkeypatch, store)
    return store
