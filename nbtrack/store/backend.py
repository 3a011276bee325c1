"""The storage primitives a store needs (``nbtrack.store.registry`` picks a backend by URL).

A backend offers two kinds of object, both addressed by ``/``-separated keys:

* **write-once objects** (blobs, annotations): written whole under a temporary name, made
  durable, then published by an atomic rename (or an object-store PUT). Writing a key that
  already exists is a success that changes nothing.
* **append-only logs** (one per run, one writer each): a logical byte stream addressed by
  offset. A local file grows by ``O_APPEND``; an object store, which has no append, stores each
  append as an immutable numbered segment and reads the concatenation.

Everything above (blob hashing, the log format, the index) is written once against this
interface, so every backend behaves the same and one test suite covers them all.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    mtime: float


FILE_OWNER, TEAM_SERVER = "file owner", "team server"


@dataclass(frozen=True)
class Writer:
    """Who wrote an object, as the storage itself attests it (never as a record claims):
    `name` is an account (``basis`` ``file owner``: the OS account owning a file) or an
    authenticated identity (``team server``: the Jupyter user a server stamped)."""

    name: str
    basis: str
    display: str = ""

    def __str__(self) -> str:
        shown = self.display if self.display and self.display != self.name else ""
        return f"{self.name}{f' ({shown})' if shown else ''} [{self.basis}]"


class Backend(ABC):
    url: str

    # write-once objects
    @abstractmethod
    def write_once(self, key: str, data: bytes) -> bool:
        """Publish `data` at `key` atomically; False (and no change) if `key` exists."""

    @abstractmethod
    def read(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError if absent."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Write-once objects under `prefix` (logs excluded), any order."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def temp_leftovers(self, older_than: float) -> builtins.list[str]:
        """Keys of temporary files left by interrupted writes, older than `older_than` (epoch s)."""

    # append-only logs
    @abstractmethod
    def append(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def sync(self, key: str) -> None:
        """Make every append so far durable."""

    @abstractmethod
    def read_log(self, key: str, offset: int = 0) -> bytes:
        """The log's bytes from `offset` on (empty if the log is absent or shorter)."""

    @abstractmethod
    def log_sizes(self, prefix: str) -> dict[str, int]:
        """Size of every log keyed ``<prefix>/<name>/log``: one cheap call for change detection."""

    def log_sizes_except(self, prefix: str, final: set[str]) -> dict[str, int | None]:
        """`log_sizes`, where a backend may answer None for the logs in `final` (known to be
        complete) instead of measuring them: the local folder then skips their stat calls."""
        return dict(self.log_sizes(prefix))

    def log_sizes_after(self, prefix: str, after: str) -> dict[str, int] | None:
        """`log_sizes` of the logs ``<prefix>/<name>/log`` whose name sorts after `after`, from a
        listing that starts there (``nbtrack.store.watermark``); None when this backend can only
        list everything (then listing everything is the reader's business)."""
        return None

    def log_listing_version(self, prefix: str) -> str | None:
        """A cheap token that changes whenever a log is added under `prefix` or removed (None:
        the backend cannot tell, list every time). While it stays the same, a reader only needs
        to look at the logs it knows may still grow (`log_size`)."""
        return None

    def log_size(self, key: str) -> int | None:
        """The size of one log (None: there is no such log)."""
        prefix = key.split("/", 1)[0]
        return self.log_sizes(prefix).get(key)

    def prefetch_logs(self, offsets: dict[str, int]) -> None:  # noqa: B027 - optional hook
        """A hint that the logs `offsets` (key -> offset) are about to be read: a remote backend
        fetches them at once (concurrently) and serves the next ``read_log`` of each from that."""

    def writer(self, key: str) -> Writer | None:
        """Who wrote `key` (a log: who created it), as this storage can attest; None when it
        cannot tell (a bucket, where anyone holding the credentials writes as the same owner)."""
        return None

    def identity(self) -> Writer | None:
        """Who this process writes as, in the terms `writer` answers in (None: cannot tell)."""
        return None

    def end_log(self, key: str) -> None:  # noqa: B027 - optional hook
        """The writer of log `key` is done with it: release what appending held (file handles)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or handles."""
