"""Where the store is, and where this machine keeps its index of it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from nbtrack.core.redact import redact_url

STORE_DIR = ".nbtrack"
ENV_STORE = "NBTRACK_STORE"
ENV_INDEX_DIR = "NBTRACK_INDEX_DIR"


def find_store(explicit: str | os.PathLike[str] | None = None, start: Path | None = None) -> str:
    """The store URL: `explicit`, else $NBTRACK_STORE, else a `.nbtrack/` found walking up from
    `start` (the working directory) like git does, else `.nbtrack/` created in `start`."""
    if explicit:
        return os.fspath(explicit)
    if os.environ.get(ENV_STORE):
        return os.environ[ENV_STORE]
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / STORE_DIR
        if candidate.is_dir():
            return str(candidate)
    return str(here / STORE_DIR)


def index_path(store_url: str) -> Path:
    """The machine-local SQLite index of a store (never inside the store, which may be shared)."""
    base = os.environ.get(ENV_INDEX_DIR)
    if base:
        folder = Path(base)
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
        folder = Path(cache) / "nbtrack"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(redact_url(store_url).encode()).hexdigest()[:16]
    return folder / f"index-{digest}.sqlite"
