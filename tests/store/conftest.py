"""The store suite runs against every backend listed in STORE_BACKENDS.

Each entry makes a fresh, empty store URL for one test. Backends that need a server start it in
their fixture (see the bucket backends); all of them must pass the same tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

BackendMaker = Callable[[Path], str]


def _local(tmp_path: Path) -> str:
    return str(tmp_path / "store")


STORE_BACKENDS: dict[str, BackendMaker] = {"local": _local}


@pytest.fixture(params=sorted(STORE_BACKENDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield STORE_BACKENDS[request.param](tmp_path)
