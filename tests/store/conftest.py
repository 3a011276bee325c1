"""The store suite runs against every backend listed in STORE_BACKENDS.

Each entry makes a fresh, empty store URL for one test. Backends that need a server start it
once per session, each in its own process on a free loopback port: a real S3-protocol server
(moto in server mode), a fake GCS server (gcp-storage-emulator: the GCS JSON API, in memory) and a
real Jupyter server serving the store over HTTP. All of them must pass the same tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nbtrack.store.fsspec_backend import FsspecBackend
from nbtrack.store.local import LocalBackend
from nbtrack.store.registry import open_backend
from tests.servers import GcsServer, S3Server, StoreServer, start_gcs_server

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


def _gcs(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    server: GcsServer = request.getfixturevalue("gcs_server")
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
    "gcs": _gcs,
}


@pytest.fixture(params=sorted(STORE_BACKENDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield STORE_BACKENDS[request.param](request, tmp_path)


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsServer]:
    server = start_gcs_server(tmp_path_factory.mktemp("gcs"))
    yield server
    server.stop()


Tamper = Callable[[str, bytes], None]


@pytest.fixture
def tamper(request: pytest.FixtureRequest, store_url: str) -> Tamper:
    """`tamper(key, data)`: put `data` at `key` behind the store's back, as a failing disk, a bucket
    edited by hand or anything but nbtrack would (on a team store: in the folder its server serves,
    since its API refuses such writes)."""
    if request.node.callspec.params["store_url"] == "http":
        root = request.getfixturevalue("store_server").store_dir
        return lambda key, data: _write_file(root.joinpath(*key.split("/")), data)
    backend = open_backend(store_url)
    if isinstance(backend, LocalBackend):
        return lambda key, data: _write_file(backend.root.joinpath(*key.split("/")), data)
    assert isinstance(backend, FsspecBackend)
    return lambda key, data: backend.fs.pipe_file(f"{backend.root}/{key}", data)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
