"""Portable bundles: runs with everything they refer to in one zip file (``runs.nbtrack.zip``),
to mail a run to a colleague or move runs between stores that cannot see each other.

A bundle is a store in a zip: the same keys as a store (``runs/<id>/log``, ``notes/...``,
``blobs/<aa>/<sha256>``, the store marker) plus ``nbtrack-bundle.json``, a manifest with each
log's size and sha256. Exporting and importing are both `sync_stores` (from a store into a new
bundle, and from a bundle into a store), so an import is idempotent for the same reasons a sync
is, and a bundle's bytes are the store's bytes. Reading a bundle verifies every log against the
manifest and every blob against its name; a damaged bundle is refused before anything of it is
written (``BundleCorrupt``).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import time
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nbtrack._version import __version__
from nbtrack.store.backend import Backend, ObjectInfo
from nbtrack.store.store import Store, open_store
from nbtrack.store.sync import Progress, SyncReport, sync_stores

MANIFEST = "nbtrack-bundle.json"
BUNDLE_FORMAT = 1
LOG_SUFFIX = "/log"


class BundleCorrupt(ValueError):
    """The bundle's content does not match its manifest or its hashes."""


class BundleReader(Backend):
    """A bundle opened read-only as a store backend."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.url = self.path.resolve().as_uri()
        try:
            self._zip = zipfile.ZipFile(self.path)
            self.manifest: dict[str, Any] = json.loads(self._zip.read(MANIFEST))
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise BundleCorrupt(f"{self.path} is not an nbtrack bundle ({exc})") from exc
        if self.manifest.get("format") != BUNDLE_FORMAT:
            raise BundleCorrupt(f"{self.path}: bundle format {self.manifest.get('format')!r} is not supported")
        self._names = {info.filename: info for info in self._zip.infolist()}

    def verify(self) -> None:
        """Check every log against the manifest and every blob against its name."""
        for run_id in self.manifest["runs"]:
            if f"runs/{run_id}/log" not in self._names:
                raise BundleCorrupt(f"{self.path}: the log of run {run_id} is missing")
            self.read_log(f"runs/{run_id}/log")
        for name in self._names:
            if name.startswith("blobs/"):
                data = self._zip.read(name)
                if hashlib.sha256(data).hexdigest() != name.rsplit("/", 1)[-1]:
                    raise BundleCorrupt(f"{self.path}: blob {name} does not match its hash")

    def _refuse(self, *_: object) -> Any:
        raise PermissionError(f"{self.path} is a bundle: read-only")

    write_once = append = delete = _refuse  # type: ignore[assignment]

    def read(self, key: str) -> bytes:
        if key not in self._names or key.endswith(LOG_SUFFIX):
            raise FileNotFoundError(key)
        return self._zip.read(key)

    def exists(self, key: str) -> bool:
        return key in self._names and not key.endswith(LOG_SUFFIX)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        start = prefix.strip("/") + "/" if prefix.strip("/") else ""
        for name, info in self._names.items():
            if name.startswith(start) and not name.endswith(LOG_SUFFIX) and name != MANIFEST:
                yield ObjectInfo(name, info.file_size, time.mktime((*info.date_time, 0, 0, -1)))

    def temp_leftovers(self, older_than: float) -> builtins.list[str]:
        return []

    def sync(self, key: str) -> None:
        self._refuse()

    def read_log(self, key: str, offset: int = 0) -> bytes:
        if key not in self._names:
            return b""
        data = self._zip.read(key)
        entry = self.manifest["runs"].get(key.split("/")[1], {})
        if entry.get("sha256") != hashlib.sha256(data).hexdigest() or entry.get("size") != len(data):
            raise BundleCorrupt(f"{self.path}: the log {key} does not match the manifest")
        return data[offset:]

    def log_sizes(self, prefix: str) -> dict[str, int]:
        return {f"runs/{run_id}/log": int(entry["size"]) for run_id, entry in self.manifest["runs"].items()}

    def close(self) -> None:
        self._zip.close()


class BundleWriter(Backend):
    """A new bundle written as a store backend (each log is appended once), published on close."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.url = self.path.resolve().as_uri()
        self._temp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        self._zip = zipfile.ZipFile(self._temp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self._names: set[str] = set()
        self.runs: dict[str, dict[str, Any]] = {}

    def write_once(self, key: str, data: bytes) -> bool:
        if key in self._names:
            return False
        self._zip.writestr(key, data)
        self._names.add(key)
        return True

    def read(self, key: str) -> bytes:
        raise FileNotFoundError(key)  # a bundle being written is never read back

    def exists(self, key: str) -> bool:
        return key in self._names

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        return iter(())

    def delete(self, key: str) -> None:
        raise PermissionError("a bundle being written keeps everything")

    def temp_leftovers(self, older_than: float) -> builtins.list[str]:
        return []

    def append(self, key: str, data: bytes) -> None:
        if key in self._names:
            raise ValueError(f"{key} was already written to the bundle")
        self.write_once(key, data)
        self.runs[key.split("/")[1]] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def sync(self, key: str) -> None:
        """Nothing until close: the bundle appears whole or not at all."""

    def read_log(self, key: str, offset: int = 0) -> bytes:
        return b""

    def log_sizes(self, prefix: str) -> dict[str, int]:
        return {}

    def close(self) -> None:
        if self._zip.fp is None:
            return
        manifest = {"format": BUNDLE_FORMAT, "created": time.time(), "nbtrack": __version__, "runs": self.runs}
        self._zip.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        self._zip.close()
        os.replace(self._temp, self.path)

    def abandon(self) -> None:
        self._zip.close()
        self._temp.unlink(missing_ok=True)


def export_runs(
    run_ids: Iterable[str], path: str | os.PathLike[str], store: Store | str | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Write the runs (ids or unique prefixes) and every blob they refer to into a new bundle."""
    source = store if isinstance(store, Store) else open_store(store)
    ids = [source.resolve(r) for r in run_ids]
    if not ids:
        raise ValueError("no runs to export")
    writer = BundleWriter(path)
    try:
        report = sync_stores(source, Store(writer), ids, progress)
    except BaseException:
        writer.abandon()
        raise
    writer.close()
    return report


def import_bundle(
    path: str | os.PathLike[str], store: Store | str | None = None, progress: Progress | None = None
) -> SyncReport:
    """Copy a bundle's runs into the store (only what it lacks); the bundle is verified first."""
    target = store if isinstance(store, Store) else open_store(store)
    reader = BundleReader(path)
    try:
        reader.verify()
        return sync_stores(Store(reader, index_file=None), target, progress=progress)
    finally:
        reader.close()
