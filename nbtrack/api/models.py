"""The model registry: a run's model by name (``faces@4``), aliases that move (``faces@production``),
and the lineage of every version back to the run, its notebook, parameters, environment and data.

    nbtrack.register_model("faces", "model.pt", aliases=["staging"])   # from the active run
    nbtrack.promote_model("faces@4", "production")
    path = nbtrack.model_path("faces@production")                     # a local file, cached

A version's content is stored like data (content-defined chunks, ``nbtrack.store.content``) or,
when it is an artifact the run logged, as that artifact's blob. Versions and alias moves are
write-once records (``nbtrack.store.versions``); the run gets a ``model`` annotation, so its
state lists the models registered from it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from nbtrack.api import write
from nbtrack.api.read import Run, StoreLike, as_store
from nbtrack.core import records
from nbtrack.core.content import FILE, ContentManifest, FileEntry
from nbtrack.core.identity import host_fields
from nbtrack.core.run import ActiveRun
from nbtrack.store import content, versions
from nbtrack.store.keys import MODELS, check_name, numbered_prefix
from nbtrack.store.locate import index_path
from nbtrack.store.store import Store

ENV_CACHE = "NBTRACK_MODEL_CACHE"
RunLike = str | Run | ActiveRun | None


def _run_of(run: RunLike, store: StoreLike) -> tuple[Store, str | None]:
    """The store and run id a registration links to (the active run when `run` is None)."""
    if run is None:
        run = write.active_run()
    if isinstance(run, ActiveRun):
        if not isinstance(run.store, Store) or (store is not None and as_store(store).url != run.store.url):
            raise ValueError("register the model in the store the run writes to")
        run.flush()  # its artifacts are readable from the log
        return run.store, run.id
    if isinstance(run, Run):
        return run.store, run.id
    target = as_store(store)
    return target, (target.resolve(run) if run else None)


def _artifact_manifest(store: Store, run_id: str, name: str) -> ContentManifest | None:
    for entry in reversed(Run(store, run_id).artifacts):
        if entry["name"] == name:
            return ContentManifest(FILE, [FileEntry(Path(name).name, int(entry["size"]), entry["sha256"],
                                                    [(entry["sha256"], int(entry["size"]))])])
    return None


def register_model(name: str, artifact_or_path: str | os.PathLike[str] | bytes, run: RunLike = None,
                   aliases: tuple[str, ...] | list[str] = (), store: StoreLike = None) -> dict[str, Any]:
    """Register a new numbered version of model `name` (``faces@4``), linked to `run` (the
    active run by default; a run id, a `Run`, or None outside a run).

    `artifact_or_path`: a file or folder on disk (its content is stored), else the name of an
    artifact of the run (``log_artifact``), or bytes. Each alias in `aliases` then points at it.
    """
    name = check_name(name)
    target, run_id = _run_of(run, store)
    if isinstance(artifact_or_path, (bytes, bytearray, memoryview)):
        data = bytes(artifact_or_path)
        sha = target.put_blob(data)
        manifest = ContentManifest(FILE, [FileEntry("model.bin", len(data), sha, [(sha, len(data))])])
        manifest_sha, source = target.put_json(manifest.to_json()), "bytes"
    elif Path(artifact_or_path).expanduser().exists():
        stored = content.put_tree(target, artifact_or_path)
        manifest, manifest_sha = stored.manifest, stored.sha
        source = str(Path(artifact_or_path).expanduser().resolve())
    else:
        found = _artifact_manifest(target, run_id, str(artifact_or_path)) if run_id else None
        if found is None:
            where = f"an artifact of run {run_id}" if run_id else "an artifact (no run given)"
            raise FileNotFoundError(f"{artifact_or_path!s} is neither a file or folder here nor {where}")
        manifest, manifest_sha, source = found, target.put_json(found.to_json()), f"artifact {artifact_or_path}"
    record = {"name": name, "content": manifest_sha, "sha256": manifest.sha256, "files": len(manifest.files),
              "bytes": manifest.bytes, "source": source, "run": run_id, "host": host_fields().get("host")}
    published = versions.publish(target, numbered_prefix(MODELS, name), record)
    if run_id:
        target.annotate(run_id, records.model(name, published["version"], manifest_sha))
    for alias in aliases:
        versions.move_alias(target, name, alias, published["version"])
    return {**published, "ref": f"{name}@{published['version']}"}


def promote_model(ref: str, alias: str, store: StoreLike = None) -> dict[str, Any]:
    """Point `alias` of the model at version `ref` (``faces@4``) by a new alias record."""
    target = as_store(store)
    version = versions.resolve(target, MODELS, ref)
    return versions.move_alias(target, version["name"], alias, int(version["version"]))


def model_version(ref: str, store: StoreLike = None) -> dict[str, Any]:
    """The version record `ref` names: ``faces@4``, ``faces@production`` or ``faces`` (latest)."""
    return versions.resolve(as_store(store), MODELS, ref)


def models(store: StoreLike = None) -> list[dict[str, Any]]:
    """Each model: its name, versions (numbers), latest version and aliases."""
    target = as_store(store)
    found = []
    for name in versions.names(target, MODELS):
        numbers = versions.numbers(target, numbered_prefix(MODELS, name))
        found.append({"name": name, "versions": numbers, "latest": numbers[-1],
                      "aliases": versions.aliases(target, name)})
    return found


def cache_dir(store: Store) -> Path:
    base = os.environ.get(ENV_CACHE)
    return Path(base) if base else index_path(store.url).parent / "content"


def model_path(ref: str, store: StoreLike = None) -> Path:
    """A local path holding model version `ref` (a file, or a folder for a folder model): written
    once into this machine's cache (``$NBTRACK_MODEL_CACHE``, else beside the index) and reused."""
    target = as_store(store)
    version = versions.resolve(target, MODELS, ref)
    return materialised(target, version["content"])


def materialised(store: Store, manifest_sha: str) -> Path:
    """The content manifest `manifest_sha`, written out once in this machine's cache."""
    manifest = content.load_manifest(store, manifest_sha)
    folder = cache_dir(store) / manifest_sha
    if not folder.is_dir():
        temp = folder.with_name(f".{manifest_sha}.{uuid.uuid4().hex[:8]}")
        try:
            content.materialise(store, manifest, temp / manifest.files[0].path if manifest.kind == FILE else temp)
            try:
                os.rename(temp, folder)  # atomic; another process may have won: use theirs
            except OSError:
                if not folder.is_dir():
                    raise
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    return folder / manifest.files[0].path if manifest.kind == FILE else folder


def lineage(ref: str, store: StoreLike = None) -> dict[str, Any]:
    """Where model version `ref` comes from: its run, the run's notebook snapshot, parameters,
    environment and data versions."""
    target = as_store(store)
    version = versions.resolve(target, MODELS, ref)
    found: dict[str, Any] = {"model": {k: v for k, v in version.items()},
                             "aliases": {a: n for a, n in versions.aliases(target, version["name"]).items()
                                         if n == version["version"]},
                             "run": None}
    if not version.get("run"):
        return found
    run = Run(target, version["run"])
    state = run.state
    snapshot = state.snapshots[-1] if state.snapshots else None
    environment = run.environment() or {}
    found["run"] = {"id": run.id, "name": state.name, "status": run.status, "user": state.user,
                    "host": state.host, "started": state.started, "notebook": state.notebook,
                    "snapshot": snapshot and {"index": snapshot["index"], "time": snapshot["time"],
                                              "reason": snapshot["reason"], "manifest": snapshot["manifest"]},
                    "params": dict(state.params),
                    "metrics": {k: m.last for k, m in state.metrics.items()},
                    "environment": {"sha256": state.env, "python": (environment.get("python") or {}).get("version"),
                                    "packages": len(environment.get("packages") or {})},
                    "data": [{k: d.get(k) for k in ("name", "version", "path", "sha256", "files", "bytes")}
                             for d in state.data]}
    return found
