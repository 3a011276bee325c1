"""Where trials run: a pool of local processes (the default) or a Dask distributed cluster.

Both offer the same three verbs to the driver: how many trials may run at once (`slots`),
`submit` a function and its argument, and `wait` for the first of some futures to finish. The
functions submitted (``nbtrack.sweeps.trial.run_trial``, ``nbtrack.sweeps.batch.replay_one``)
are imported by name where they run, so Dask workers need nbtrack installed (README, "Sweeps").

A cluster's workers write to the store themselves, so the store must be one they all reach: a
bucket, a team server, or a folder every worker mounts at the same path. `store_refusal` says
why a store is not (a folder on this machine's own disk, an in-memory store).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from nbtrack.store.local import path_from_url
from nbtrack.store.registry import scheme_of

ENV_SCHEDULER = "NBTRACK_DASK_SCHEDULER"
SHARED_SCHEMES = ("s3", "s3a", "gs", "gcs", "az", "abfs", "http", "https")
# filesystems whose folders other machines mount too (from /proc/self/mounts)
NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "lustre", "gpfs", "beegfs", "ceph", "cephfs",
                       "glusterfs", "afs", "panfs", "wekafs", "fuse.sshfs", "fuse.gcsfuse", "fuse.s3fs",
                       "fuse.juicefs", "fuse.rclone", "fuse.glusterfs", "fuse.cephfs", "fuse.mountpoint-s3")


class ExecutorError(RuntimeError):
    """An executor that cannot be used (no Dask installed, no scheduler answering, a store the
    workers cannot share)."""


class Executor(Protocol):
    name: str

    def slots(self) -> int: ...
    def submit(self, fn: Callable[[Any], Any], arg: Any, key: str) -> Any: ...
    def wait(self, futures: Sequence[Any], timeout: float) -> set[Any]: ...
    def close(self) -> None: ...


def _ignore_interrupts() -> None:
    """Pool processes leave Ctrl-C to the driver, which decides what stops (see driver.py)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    """`workers` local processes (spawned: safe from a kernel or a threaded program); a pool
    broken by a process that died is replaced on the next submit."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _fresh(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts)
        return self._pool

    def slots(self) -> int:
        return self.workers

    def submit(self, fn: Callable[[Any], Any], arg: Any, key: str) -> concurrent.futures.Future[Any]:
        pool = self._pool or self._fresh()
        try:
            return pool.submit(fn, arg)
        except concurrent.futures.BrokenExecutor:
            return self._fresh().submit(fn, arg)

    def wait(self, futures: Sequence[Any], timeout: float) -> set[Any]:
        done, _ = concurrent.futures.wait(futures, timeout, return_when=concurrent.futures.FIRST_COMPLETED)
        return set(done)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskCluster:
    """An existing Dask distributed scheduler (any deployment); one trial per worker thread."""

    name = "dask"

    def __init__(self, address: str, connect_timeout: float = 30.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError("a Dask cluster needs the distributed package: pip install 'nbtrack[dask]'") from None
        try:
            self.client = Client(address, timeout=f"{connect_timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"no Dask scheduler answers at {address}: {exc}") from None
        self.address = address
        self._slots, self._asked = 0, 0.0

    def slots(self) -> int:
        """Threads of the workers connected now (asked at most every 2 s: workers come and go)."""
        if time.monotonic() - self._asked > 2.0:
            self._slots = sum(self.client.nthreads().values())
            self._asked = time.monotonic()
        return self._slots

    def submit(self, fn: Callable[[Any], Any], arg: Any, key: str) -> Any:
        return self.client.submit(fn, arg, key=key, pure=False)

    def wait(self, futures: Sequence[Any], timeout: float) -> set[Any]:
        from distributed import wait

        try:
            with self.client.as_current():  # `wait` asks for the current client
                done, _ = wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set()
        return set(done)

    def close(self) -> None:
        self.client.close()


def _filesystem_of(path: Path) -> str | None:
    """The type of the filesystem holding `path` (the longest mount point above it), on Linux."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    best, kind = "", None
    target = str(path)
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind


def store_refusal(url: str, shared_folder: bool = False) -> str | None:
    """Why Dask workers cannot use the store at `url`, or None when they can."""
    scheme = scheme_of(url)
    if scheme in SHARED_SCHEMES:
        return None
    if scheme == "memory":
        return ("a memory:// store lives inside one process: Dask workers would each record their trials in a store "
                "of their own, and this one would never see them. Use a bucket (s3://, gs://) or a team server.")
    if scheme not in ("", "file") or shared_folder:
        return None
    path = path_from_url(url).resolve()
    kind = _filesystem_of(path)
    if kind in NETWORK_FILESYSTEMS:
        return None
    return (f"the store {path} is a folder on this machine's own disk ({kind or 'filesystem unknown'}): Dask workers "
            "on other machines cannot see it, so their trials would be recorded where nobody finds them. Use a "
            "bucket (s3://..., gs://...), a team server (https://.../nbtrack), or a folder every worker mounts at "
            "the same path (NFS, SMB, ...; say so with --shared-folder when it is not detected).")


def connect(cluster: str | None, workers: int | None, store_url: str, shared_folder: bool = False) -> Executor:
    """The executor asked for: a Dask cluster at `cluster` (else ``$NBTRACK_DASK_SCHEDULER``, unless
    `workers` asks for local processes), after checking the store is one its workers share; else a
    local pool of `workers` processes."""
    if cluster and workers:
        raise ExecutorError("give either --workers (local processes) or --cluster (a Dask cluster runs one trial "
                            "per worker thread), not both")
    address = cluster or (None if workers else os.environ.get(ENV_SCHEDULER)) or None
    if not address:
        return LocalPool(workers)
    refusal = store_refusal(store_url, shared_folder)
    if refusal:
        raise ExecutorError(f"cannot use the Dask cluster at {address}: {refusal}")
    return DaskCluster(address)
