"""The store's layout: every key a store holds, built and recognised in one place.

::

    nbtrack-store.json        format marker
    runs/<run id>/log         the run's append-only log (one writer: the run's process)
    runs/<run id>/stamp       who created the run, written by a team server (never by a client)
    notes/<run id>/<id>       annotations added later by anyone (write-once framed records)
    blobs/<aa>/<sha256>       content-addressed blobs
    sweeps/<sweep id>/<id>    a sweep's events (write-once framed records, ``core.sweep_state``)

Backends store opaque ``/``-separated keys; everything that needs to know what a key means
(the store, its index, sync, bundles, the team server's routes) asks this module. Anything else
found in a store (a file planted under ``runs/``, a stray name) is not part of it: readers
ignore it and ``nbtrack fsck`` lists it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MARKER = "nbtrack-store.json"
STORE_FORMAT = 1
RUNS, NOTES, BLOBS, SWEEPS = "runs", "notes", "blobs", "sweeps"
LOG_NAME = "log"
STAMP_NAME = "stamp"

_ID = r"[0-9a-z]{1,64}"
_LAYOUT = {
    "log": re.compile(rf"{RUNS}/(?P<run>{_ID})/{LOG_NAME}"),
    "stamp": re.compile(rf"{RUNS}/(?P<run>{_ID})/{STAMP_NAME}"),
    "note": re.compile(rf"{NOTES}/(?P<run>{_ID})/(?P<note>{_ID})"),
    "blob": re.compile(rf"{BLOBS}/(?P<aa>[0-9a-f]{{2}})/(?P<sha>[0-9a-f]{{64}})"),
    "sweep": re.compile(rf"{SWEEPS}/(?P<sweep>{_ID})/(?P<event>{_ID})"),
}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def log_key(run_id: str) -> str:
    return f"{RUNS}/{run_id}/{LOG_NAME}"


def stamp_key(run_id: str) -> str:
    return f"{RUNS}/{run_id}/{STAMP_NAME}"


def note_key(run_id: str, note_id: str) -> str:
    return f"{NOTES}/{run_id}/{note_id}"


def notes_prefix(run_id: str) -> str:
    return f"{NOTES}/{run_id}"


def blob_key(sha: str) -> str:
    if not _SHA256.fullmatch(sha):
        raise ValueError(f"not a sha256 hex digest: {sha!r}")
    return f"{BLOBS}/{sha[:2]}/{sha}"


def sweep_event_key(sweep_id: str, event_id: str) -> str:
    return f"{SWEEPS}/{sweep_id}/{event_id}"


def sweep_prefix(sweep_id: str | None = None) -> str:
    return SWEEPS if sweep_id is None else f"{SWEEPS}/{sweep_id}"


def run_of(key: str) -> str:
    """The run id in a log or annotation key (``runs/<id>/log``, ``notes/<id>/<note>``)."""
    return key.split("/")[1]


def kind_of(key: str) -> str | None:
    """What `key` is in the layout: ``marker``, ``log``, ``stamp``, ``note``, ``blob`` or ``sweep``;
    None when it is not a key of the layout at all."""
    if key == MARKER:
        return "marker"
    for kind, pattern in _LAYOUT.items():
        match = pattern.fullmatch(key)
        if match is not None and (kind != "blob" or match["aa"] == match["sha"][:2]):
            return kind
    return None


_PREFIX = re.compile(rf"(?:{RUNS}|{NOTES}|{BLOBS}|{SWEEPS})?|{NOTES}/{_ID}|{BLOBS}/[0-9a-f]{{2}}|{SWEEPS}/{_ID}")


def is_layout_prefix(prefix: str) -> bool:
    """Whether `prefix` (a listing's) names a folder of the layout: ``""``, ``runs``, ``notes``,
    ``blobs``, ``sweeps``, ``notes/<run id>``, ``blobs/<aa>`` or ``sweeps/<sweep id>``."""
    return _PREFIX.fullmatch(prefix.strip("/")) is not None


def run_logs(keys: Iterable[str]) -> list[str]:
    """The keys among `keys` that are run logs of the layout (``runs/<id>/log``)."""
    return [key for key in keys if kind_of(key) == "log"]
