"""Data versions: the content of a file or folder kept in the store as a named, numbered version.

    nbtrack.track_data("data/train/", name="train-images")    # -> train-images@3, on the active run
    nbtrack.track_data("big.csv", keep=False)                  # fingerprint only (no content kept)
    nbtrack.get_data("train-images@3", "restored/")            # the same bytes, written out

Content is stored as content-defined chunks (``nbtrack.store.content``), so a new version of a
large dataset costs about the bytes that changed; versions are numbered without locks
(``nbtrack.store.versions``). Tracking data that equals an existing version of the name records
that version again instead of making a new one.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from nbtrack.api import write
from nbtrack.api.read import StoreLike, as_store
from nbtrack.core import records
from nbtrack.core.content import ContentManifest
from nbtrack.core.fingerprint import HashCache
from nbtrack.core.identity import host_fields
from nbtrack.core.state import RunState
from nbtrack.store import content, versions
from nbtrack.store.keys import DATA, check_name, numbered_prefix
from nbtrack.store.locate import index_path
from nbtrack.store.store import Store


@cache
def chunking_available() -> bool:
    """Whether content can be kept (``pip install 'nbtrack[data]'``); warns once when not, and
    `track_data` then records a fingerprint only rather than break the notebook."""
    try:
        import pyfastcdc  # noqa: F401
    except ImportError:
        warnings.warn("nbtrack: pyfastcdc is not installed, so track_data records a fingerprint only; "
                      "pip install 'nbtrack[data]' to keep data versions", RuntimeWarning, stacklevel=3)
        return False
    return True


@cache
def _hash_cache(store_url: str) -> HashCache:
    return HashCache(index_path(store_url).with_name("file-hashes.sqlite"))


def default_name(path: str | os.PathLike[str]) -> str:
    """A version name from a path's last part (``data/Train Images/`` -> ``train-images``)."""
    base = Path(path).expanduser().resolve().name.lower()
    name = re.sub(r"[^a-z0-9._-]+", "-", base).strip("-._")[:100]
    return check_name(name or "data")


def store_data(store: Store, path: str | os.PathLike[str], name: str | None = None,
               run_id: str | None = None) -> dict[str, Any]:
    """Store the file or folder's content as the next version of `name` (the path's last part
    by default), unless a version of `name` already holds exactly this content (then that one
    is returned, with ``new`` False). ``stored_bytes`` says how many bytes this call added."""
    name = check_name(name) if name else default_name(path)
    prefix = numbered_prefix(DATA, name)
    existing = versions.versions(store, DATA, name)
    previous = [content.load_manifest(store, existing[-1]["content"])] if existing else []
    stored = content.put_tree(store, path, _hash_cache(store.url), previous)
    manifest = stored.manifest
    now = {"stored_bytes": stored.new_bytes}  # what this call added (the version keeps its own "new_bytes")
    same = next((v for v in reversed(existing) if v.get("sha256") == manifest.sha256), None)
    if same is not None:
        return {**same, "ref": f"{name}@{same['version']}", "new": False, **now}
    record = {"name": name, "content": stored.sha, "sha256": manifest.sha256, "files": len(manifest.files),
              "bytes": manifest.bytes, "path": str(Path(path).expanduser().resolve()), "run": run_id,
              "host": host_fields().get("host"), "new_bytes": stored.new_bytes, "new_chunks": stored.new_chunks}
    published = versions.publish(store, prefix, record)
    return {**published, "ref": f"{name}@{published['version']}", "new": True, **now}


def track_data(path: str | os.PathLike[str], name: str | None = None, keep: bool = True,
               store: StoreLike = None) -> dict[str, Any]:
    """Record the data a run uses: with `keep` (the default) its content is stored as a version
    of `name` (``train-images@3``) and the active run records which; `keep=False` records a
    fingerprint only. Without an active run, give `store` to store a version outside any run
    (without it, NoActiveRun as from every other verb: a forgotten start must not version the
    current folder into the default store)."""
    run = write.active_run()
    if run is None and store is None:
        write.require_run("track_data")
    if keep and not chunking_available():
        keep, name = False, None
    if not keep:
        if name is not None:
            raise ValueError("name= names a stored version: it needs keep=True")
        return write.track_data(Path(path))
    target = run.store if run is not None and store is None else as_store(store)
    if not isinstance(target, Store):
        raise TypeError(f"nbtrack: the active run writes to {target!r}, which cannot keep data versions")
    version = store_data(target, path, name, run.id if run else None)
    if run is not None:
        manifest = content.load_manifest(target, version["content"])
        listing = target.put_json({f.path: [f.size, f.sha256] for f in manifest.files})
        run.write(records.data(str(Path(path).expanduser().resolve()), version["sha256"], version["files"],
                               version["bytes"], listing,
                               version=(version["name"], int(version["version"]), version["content"])))
    return {k: v for k, v in version.items() if k not in ("new", "stored_bytes")}  # the version, as stored


def data_versions(store: StoreLike = None) -> list[dict[str, Any]]:
    """Every version of every data name, oldest first within a name."""
    target = as_store(store)
    return [v for name in versions.names(target, DATA) for v in versions.versions(target, DATA, name)]


def data_version(ref: str, store: StoreLike = None) -> dict[str, Any]:
    """The version ``NAME@N`` (or the latest, ``NAME``)."""
    return versions.resolve(as_store(store), DATA, ref)


def manifest_of(version: dict[str, Any], store: StoreLike = None) -> ContentManifest:
    return content.load_manifest(as_store(store), version["content"])


def get_data(ref: str, target: str | os.PathLike[str], store: StoreLike = None) -> Path:
    """Write data version `ref` out at `target` (a folder's files under it; a file's content at
    ``target/<its name>`` when `target` is a folder, else at `target`). Returns the path written."""
    found = as_store(store)
    version = versions.resolve(found, DATA, ref)
    manifest = content.load_manifest(found, version["content"])
    out = Path(target)
    if manifest.kind == "file" and (out.is_dir() or str(target).endswith(os.sep)):
        out = out / manifest.files[0].path
    return content.materialise(found, manifest, out)


def runs_using(store: StoreLike, name: str, version: int | None = None) -> Iterator[RunState]:
    """Runs that recorded data `name` (at `version` when given), from this machine's index."""
    for state in as_store(store).index.states():
        if any(d.get("name") == name and (version is None or d.get("version") == version) for d in state.data):
            yield state
