"""A store: run logs, content-addressed blobs and annotations over one backend (the layout is
``nbtrack.store.keys``), plus this machine's derived index of it (``nbtrack.store.index``)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.core import framing
from nbtrack.core.framing import Damage
from nbtrack.core.ids import new_run_id, resolve_prefix
from nbtrack.core.records import ANNOTATION_KINDS
from nbtrack.core.state import RunState, reduce
from nbtrack.store.backend import Backend
from nbtrack.store.index import Index, IndexUnavailable
from nbtrack.store.keys import (
    MARKER,
    STORE_FORMAT,
    blob_key,
    kind_of,
    log_key,
    note_key,
    notes_prefix,
    run_logs,
    run_of,
)
from nbtrack.store.locate import find_store, index_path
from nbtrack.store.registry import open_backend


class BlobCorrupt(IOError):
    """A blob's bytes do not hash to its name."""


class MissingBlob(FileNotFoundError):
    """A blob some record refers to is not in the store."""


@dataclass
class RunLog:
    """Everything stored about one run, read back."""

    run_id: str
    records: list[dict[str, Any]]
    damage: list[Damage] = field(default_factory=list)  # see ``framing.Decoded``
    torn_tail: bool = False
    end: int = 0  # offset just past the last intact frame
    size: int = 0  # offset just past the last byte read
    recovered: list[Damage] = field(default_factory=list)  # torn writes sent again whole after them

    @property
    def corrupt(self) -> list[Damage]:
        """Damage that lost bytes: neither a torn tail nor a recovered torn write."""
        return self.damage[:-1] if self.torn_tail else self.damage

    def state(self) -> RunState:
        return reduce(self.records)


class Store:
    def __init__(self, backend: Backend, index_file: Path | None = None) -> None:
        self.backend = backend
        self.url = backend.url
        self._index_file = index_file
        self._index: Index | None = None
        self._lock = threading.Lock()
        if not backend.exists(MARKER):
            backend.write_once(MARKER, json.dumps({"format": STORE_FORMAT}).encode())

    # blobs
    def put_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        key = blob_key(sha)
        if not self.backend.exists(key):
            self.backend.write_once(key, data)
        return sha

    def get_blob(self, sha: str, verify: bool = True) -> bytes:
        try:
            data = self.backend.read(blob_key(sha))
        except FileNotFoundError:
            raise MissingBlob(f"blob {sha} is missing from the store {self.url} (nbtrack fsck lists what refers "
                              "to it)") from None
        if verify and hashlib.sha256(data).hexdigest() != sha:
            raise BlobCorrupt(f"blob {sha} is corrupt: its content does not match its hash")
        return data

    def has_blob(self, sha: str) -> bool:
        return self.backend.exists(blob_key(sha))

    def put_json(self, value: Any) -> str:
        return self.put_blob(framing.json_bytes(value, sort_keys=True))

    def get_json(self, sha: str) -> Any:
        return json.loads(self.get_blob(sha))

    # run logs (single writer per run)
    def append(self, run_id: str, data: bytes) -> None:
        self.backend.append(log_key(run_id), data)

    def sync(self, run_id: str) -> None:
        self.backend.sync(log_key(run_id))

    def end(self, run_id: str) -> None:
        """The run's writer is finished: release its log's handles."""
        self.backend.end_log(log_key(run_id))

    def annotate(self, run_id: str, record: Mapping[str, Any]) -> None:
        """Add a note or tags to any run, by anyone, without touching its writer's log."""
        self.backend.write_once(note_key(run_id, new_run_id()), framing.encode(record))

    def annotation_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for info in self.backend.list("notes"):
            if kind_of(info.key) != "note":
                continue
            run_id = run_of(info.key)
            counts[run_id] = counts.get(run_id, 0) + 1
        return counts

    def read_run(self, run_id: str, offset: int = 0, annotations: bool = True) -> RunLog:
        """The run's records from `offset` on, plus its annotations when reading from the start
        (`annotations=False` when the caller knows there are none: saves a listing)."""
        data = self.backend.read_log(log_key(run_id), offset)
        decoded = framing.decode(data, base=offset)
        records = decoded.records
        if offset == 0 and annotations:
            records = records + self._annotations(run_id)
        return RunLog(run_id, records, decoded.damage, decoded.torn_tail, decoded.end, offset + len(data),
                      decoded.recovered)

    def _annotations(self, run_id: str) -> list[dict[str, Any]]:
        """The run's annotations: only the kinds others may add (`ANNOTATION_KINDS`)."""
        found: list[dict[str, Any]] = []
        for info in sorted(self.backend.list(notes_prefix(run_id)), key=lambda i: i.key):
            if kind_of(info.key) == "note":
                found.extend(r for r in framing.decode(self.backend.read(info.key)).records
                             if r.get("t") in ANNOTATION_KINDS)
        return found

    def run_ids(self) -> list[str]:
        """Every run of the store (files under ``runs/`` that are not logs of the layout are not runs)."""
        return sorted(run_of(key) for key in run_logs(self.backend.log_sizes("runs")))

    def resolve(self, prefix: str) -> str:
        """A full run id from a unique prefix (or the id itself)."""
        return resolve_prefix(prefix, self.run_ids())

    # the derived index
    @property
    def index(self) -> Index:
        """This machine's index of the store, opened on first use (the store hands itself over)."""
        with self._lock:
            if self._index is None:
                try:
                    path = self._index_file or index_path(self.url)
                except OSError as exc:  # the index folder cannot be created
                    raise IndexUnavailable.at("folder", exc) from exc
                self._index = Index(path, self)
            return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
        self.backend.close()


_OPEN: dict[str, Store] = {}
_OPEN_LOCK = threading.Lock()


def open_store(location: str | os.PathLike[str] | None = None) -> Store:
    """The store at `location` (path or URL), found as `find_store` says when None.

    Stores are cached per URL within a process, so every part of a kernel shares one.
    """
    url = find_store(location)
    with _OPEN_LOCK:
        store = _OPEN.get(url)
        if store is None:
            store = _OPEN[url] = Store(open_backend(url))
            _OPEN[store.url] = store
        return store
