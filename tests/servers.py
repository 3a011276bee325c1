"""Real servers on loopback for tests: an S3-protocol server (moto in server mode), a GCS-protocol
server (gcp-storage-emulator) and a Jupyter server running the nbtrack store handlers.
Each is started once per session by a fixture."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
BUCKET = "nbtrack-tests"
ROOT = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).parent / "dask")  # the `dask` command of this environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"no answer from {url} within {timeout} s")


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]

    def url(self, prefix: str | None = None) -> str:
        """A fresh, empty store URL in the test bucket."""
        return f"s3://{BUCKET}/{prefix or uuid.uuid4().hex}?endpoint_url={self.endpoint}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_s3_server(log_dir: Path) -> S3Server:
    """moto's S3 server in its own process on a free loopback port, with the test bucket."""
    os.environ.update(S3_ENV)
    port = free_port()
    log = open(log_dir / "moto.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=os.environ | S3_ENV,
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_for_http(endpoint, process)
    import s3fs

    s3fs.S3FileSystem(endpoint_url=endpoint).mkdir(BUCKET)
    return S3Server(endpoint, process)


@dataclass
class GcsServer:
    """A fake GCS: gcp-storage-emulator's server (the GCS JSON API, objects in memory) in its own
    process on a loopback port; gcsfs talks to it as to GCS."""

    endpoint: str
    process: subprocess.Popen[bytes]

    def url(self, prefix: str | None = None) -> str:
        """A fresh, empty store URL in the test bucket (anonymous: the fake checks no credentials)."""
        return f"gs://{BUCKET}/{prefix or uuid.uuid4().hex}?endpoint_url={self.endpoint}&token=anon&project=nbtrack"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# gcsfs asks GCS for a bucket's type over gRPC, which the fake does not serve (the call waits
# for good): the plain JSON API is what every bucket supports. gcsfs reads this when it is first
# imported, which may have happened already (papermill imports gcsfs), so `use_plain_gcsfs` also
# registers the plain filesystem for gs:// in this process; processes started later read this.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

GCS_SERVER = """
import sys, threading
from gcp_storage_emulator import server
server.RequestHandler.timeout = 10  # one request at a time: a stalled client must not hold the rest
server.create_server("127.0.0.1", int(sys.argv[1]), in_memory=True, default_bucket=sys.argv[2]).start()
threading.Event().wait()
"""


def use_plain_gcsfs() -> None:
    """gs:// in this process is gcsfs's plain JSON API client, whatever gcsfs exports (see above)."""
    import fsspec
    from gcsfs.core import GCSFileSystem

    for protocol in ("gs", "gcs"):
        fsspec.register_implementation(protocol, GCSFileSystem, clobber=True)


def start_gcs_server(log_dir: Path) -> GcsServer:
    use_plain_gcsfs()
    port = free_port()
    log = open(log_dir / "gcs.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen([sys.executable, "-c", GCS_SERVER, str(port), BUCKET], stdout=log,
                               stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    wait_for_http(f"{endpoint}/storage/v1/b/{BUCKET}", process)
    return GcsServer(endpoint, process)


@dataclass
class StoreServer:
    """A real Jupyter server serving the store at `store_dir` over HTTP (token auth)."""

    base: str
    token: str
    store_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"{self.base}nbtrack?token={self.token}"

    def wipe(self) -> None:
        """Empty the served store (between tests sharing the one server)."""
        import shutil

        shutil.rmtree(self.store_dir, ignore_errors=True)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_store_server(work: Path, preexec_fn: Callable[[], None] | None = None) -> StoreServer:
    """`jupyter server` with the nbtrack extension on a free loopback port, serving
    `work/served-store` (its ``$NBTRACK_STORE``); `preexec_fn` runs in its process first."""
    port = free_port()
    token = uuid.uuid4().hex
    store_dir = work / "served-store"
    root = work / "root"
    root.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "NBTRACK_STORE": str(store_dir),
        "NBTRACK_INDEX_DIR": str(work / "server-index"),
        "JUPYTER_CONFIG_DIR": str(work / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(work / "jupyter-runtime"),
    }
    log = open(work / "jupyter-server.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.jpserver_extensions={'nbtrack': True}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, preexec_fn=preexec_fn,
    )
    base = f"http://127.0.0.1:{port}/"
    wait_for_http(f"{base}api/status?token={token}", process)
    return StoreServer(base, token, store_dir, process)


@dataclass
class DaskCluster:
    """A real `dask scheduler` and `dask worker` processes on loopback (each worker a nanny and
    its worker process, single-threaded unless told)."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    log_dir: Path
    env: dict[str, str]

    def add_worker(self, nthreads: int = 1) -> None:
        index = len(self.workers)
        log = open(self.log_dir / f"dask-worker-{index}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        self.workers.append(subprocess.Popen(
            [DASK, "worker", self.address, "--nthreads", str(nthreads),
             "--no-dashboard", "--name", f"w{index}", "--local-directory", str(self.log_dir / f"w{index}")],
            stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.log_dir,
        ))

    def wait_for_workers(self, count: int, timeout: float = 120.0) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(count, timeout=timeout)

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def start_dask_cluster(log_dir: Path, workers: int = 2, nthreads: int = 1,
                       env: dict[str, str] | None = None) -> DaskCluster:
    """A scheduler on a free loopback port and `workers` workers that import this checkout."""
    port = free_port()
    full_env = os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"} | (env or {})
    log = open(log_dir / "dask-scheduler.log", "wb")  # noqa: SIM115 - lives as long as the scheduler
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"],
        stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=log_dir,
    )
    cluster = DaskCluster(f"tcp://127.0.0.1:{port}", scheduler, [], log_dir, full_env)
    for _ in range(workers):
        cluster.add_worker(nthreads)
    try:
        cluster.wait_for_workers(workers)
    except BaseException:
        cluster.stop()
        raise
    return cluster
