"""The store suite runs against every backend listed in STORE_BACKENDS.

Each entry makes a fresh, empty store URL for one test. Backends that need a server start it
once per session (a real S3-protocol server, moto in server mode, on a free loopback port; a real
Jupyter server serving the store over HTTP); all of them must pass the same tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import S3Server, StoreServer

BackendMaker = Callable[[pytest.FixtureRequest, Path], str]


def _local(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "store")


def _shared_folder(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A folder named by a file:// URL, as a mounted team folder (NFS, Drive) is."""
    return (tmp_path / "mnt" / "team share" / "runs").as_uri()


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"memory://nbtrack-{uuid.uuid4().hex}"


def _s3(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    server: S3Server = request.getfixturevalue("s3_server")
    return server.url()


def _http(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A team store served by a real Jupyter server (one per session, emptied for each test)."""
    server: StoreServer = request.getfixturevalue("store_server")
    server.wipe()
    return server.url


STORE_BACKENDS: dict[str, BackendMaker] = {
    "local": _local,
    "http": _http,
    "shared-folder": _shared_folder,
    "memory": _memory,
    "s3": _s3,
}


@pytest.fixture(params=sorted(STORE_BACKENDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield STORE_BACKENDS[request.param](request, tmp_path)
