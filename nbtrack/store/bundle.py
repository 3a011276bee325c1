"""Portable bundles: runs with everything they refer to in one zip file (``runs.nbtrack.zip``),
to mail a run to a colleague or move runs between stores that cannot see each other.

A bundle is a store in a zip: the same keys as a store (``runs/<id>/log``, ``notes/...``,
``blobs/<aa>/<sha256>``, the store marker) plus ``nbtrack-bundle.json``, a manifest with each
log's size and sha256. Exporting and importing are both `sync_stores` (from a store into a new
bundle, and from a bundle into a store), so an import is idempotent for the same reasons a sync
is, and a bundle's bytes are the store's bytes. Reading a bundle verifies every log against the
manifest and every blob against its name; a damaged bundle is refused before anything of it is
written (``BundleCorrupt``).

A bundle is someone else's file: before anything of it is read, its members' declared sizes are
checked against limits (`BundleLimits`: each member, the whole bundle, and how far a member
expands from its compressed size), so a zip bomb is refused with a clear error instead of
filling memory; blobs are hashed as they stream in. A bundle's log that differs from the
store's log of the same run, even at the same size, is reported as a conflict.
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
from dataclasses import dataclass
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


class BundleTooLarge(BundleCorrupt):
    """The bundle's members are larger, or expand more, than `BundleLimits` allow."""


@dataclass(frozen=True)
class BundleLimits:
    """What an imported bundle may hold; ``$NBTRACK_BUNDLE_MAX_BYTES`` and
    ``$NBTRACK_BUNDLE_MAX_RATIO`` raise `total` and `ratio` for bundles known to be fine."""

    member: int = 1024**3  # one log, blob or annotation, uncompressed (it is read whole)
    total: int = 64 * 1024**3  # every member together, uncompressed
    ratio: int = 200  # uncompressed / compressed size of a member (logs and notebooks: ~5-30x)
    ratio_from: int = 1024**2  # members smaller than this may expand more (tiny files compress oddly)
    manifest: int = 64 * 1024**2

    @classmethod
    def from_environ(cls) -> BundleLimits:
        found = {field: os.environ.get(f"NBTRACK_BUNDLE_MAX_{name}", "") for field, name in
                 (("total", "BYTES"), ("ratio", "RATIO"))}
        return cls(**{field: int(value) for field, value in found.items() if value.isdigit()})

    def check(self, path: Path, infos: list[zipfile.ZipInfo]) -> None:
        total = 0
        for info in infos:
            size, packed = info.file_size, max(info.compress_size, 1)
            total += size
            limit = self.manifest if info.filename == MANIFEST else self.member
            if size > limit:
                raise BundleTooLarge(f"{path}: {info.filename[:200]!r} holds {size} bytes, more than a bundle "
                                     f"member may ({limit})")
            if size >= self.ratio_from and size / packed > self.ratio:
                raise BundleTooLarge(f"{path}: {info.filename[:200]!r} expands {size // packed}x from its "
                                     f"compressed size (at most {self.ratio}x, $NBTRACK_BUNDLE_MAX_RATIO): "
                                     "refused as a zip bomb")
        if total > self.total:
            raise BundleTooLarge(f"{path}: its members hold {total} bytes, more than a bundle may ({self.total}; "
                                 "$NBTRACK_BUNDLE_MAX_BYTES)")


class BundleReader(Backend):
    """A bundle opened read-only as a store backend."""

    def __init__(self, path: str | os.PathLike[str], limits: BundleLimits | None = None) -> None:
        self.path = Path(path)
        self.url = self.path.resolve().as_uri()
        try:
            self._zip = zipfile.ZipFile(self.path)
            (limits or BundleLimits.from_environ()).check(self.path, self._zip.infolist())
            self.manifest: dict[str, Any] = json.loads(self._zip.read(MANIFEST))
        except (zipfile.BadZipFile, KeyError, ValueError, RecursionError) as exc:
            if isinstance(exc, BundleCorrupt):
                raise
            raise BundleCorrupt(f"{self.path} is not an nbtrack bundle ({exc})") from exc
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != BUNDLE_FORMAT:
            raise BundleCorrupt(f"{self.path}: not an nbtrack bundle of format {BUNDLE_FORMAT}")
        runs = self.manifest.get("runs")
        if not isinstance(runs, dict) or not all(isinstance(v, dict) for v in runs.values()):
            raise BundleCorrupt(f"{self.path}: its manifest lists no runs")
        self._names = {info.filename: info for info in self._zip.infolist()}

    def verify(self) -> None:
        """Check every log against the manifest and every blob against its name."""
        for run_id in self.manifest["runs"]:
            if f"runs/{run_id}/log" not in self._names:
                raise BundleCorrupt(f"{self.path}: the log of run {run_id} is missing")
            self.read_log(f"runs/{run_id}/log")
        for name in self._names:
            if name.startswith("blobs/"):
                digest = hashlib.sha256()
                with self._zip.open(name) as member:  # streamed: a blob is never held whole here
                    for chunk in iter(lambda: member.read(1024 * 1024), b""):
                        digest.update(chunk)
                if digest.hexdigest() != name.rsplit("/", 1)[-1]:
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

    def log_digest(self, key: str) -> str | None:
        """The sha256 the manifest gives the log `key` (what an import compares with)."""
        return self.manifest["runs"].get(key.split("/")[1], {}).get("sha256")

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
        return sync_stores(Store(reader, index_file=None), target, progress=progress, digest_of=reader.log_digest)
    finally:
        reader.close()
