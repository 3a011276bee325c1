"""The extension's settings (``c.NBTrack.*`` in any Jupyter server config) and its state: the
store it serves, found lazily, and the server's root folder."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from traitlets import Bool, Int, Unicode
from traitlets.config import LoggingConfigurable

from nbtrack.core.redact import redact, redact_url
from nbtrack.server.jobs import ReplayJobs
from nbtrack.store.locate import find_store
from nbtrack.store.store import Store, open_store


class NBTrack(LoggingConfigurable):
    """nbtrack's Jupyter server extension (REST API under ``<base_url>nbtrack/api/``)."""

    store = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The nbtrack store to serve (a folder or a URL such as s3://bucket/prefix). "
        "Default: $NBTRACK_STORE, else the .nbtrack/ folder found walking up from the "
        "server's root_dir (created there on first use when there is none).",
    )
    checkpoint_on_save = Bool(
        True,
        config=True,
        help="When a notebook is saved while a run recorded from it is running, add a "
        "snapshot of the saved notebook to that run (reason 'save').",
    )
    kernel_hash_seed = Bool(
        True,
        config=True,
        help="Start every kernel of a notebook session with a PYTHONHASHSEED drawn for it (unless the "
        "server's environment or the kernel spec sets one). Python draws a random one otherwise, which "
        "no run can record; with a seed of the kernel's own in its run, a replay orders sets and dicts "
        "of strings as the original did.",
    )
    max_replays = Int(
        2,
        config=True,
        help="How many replays may run at once (each starts a kernel); more answer 409.",
    )
    max_object_bytes = Int(
        512 * 1024 * 1024,
        config=True,
        help="The largest object (blob, annotation) or log append the team store routes accept, in "
        "bytes; larger ones answer 413 before their body is read.",
    )
    max_log_bytes = Int(
        4 * 1024 * 1024 * 1024,
        config=True,
        help="The largest run log the team store routes grow, in bytes; appends past it answer 413.",
    )
    root_dir = Unicode("", help="The Jupyter server's root folder (set by the extension loader).")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._store: Store | None = None
        self._lock = threading.Lock()
        self.executor = ThreadPoolExecutor(4, thread_name_prefix="nbtrack-api")
        self.jobs = ReplayJobs(max_running=self.max_replays)
        self.checkpointer: Any = None  # the post-save hook, when checkpoint_on_save

    @property
    def store_location(self) -> str:
        return find_store(self.store or None, start=Path(self.root_dir or ".").resolve())

    def open_store(self) -> Store:
        """The served store, opened on first use (so starting a server creates nothing)."""
        with self._lock:
            if self._store is None:
                location = self.store_location
                try:
                    self._store = open_store(location)
                except Exception as exc:
                    reason = redact(str(exc))
                    raise StoreUnavailable(
                        f"nbtrack cannot open its store at {redact_url(location)}: {reason}"
                    ) from exc
                self.log.info("nbtrack: serving the store at %s", redact_url(self._store.url))
            return self._store


class StoreUnavailable(RuntimeError):
    """The configured store cannot be opened (answered 503 with the reason)."""
