"""The store's layout: every key a store holds, built and recognised in one place.

::

    nbtrack-store.json        format marker
    runs/<run id>/log         the run's append-only log (one writer: the run's process)
    notes/<run id>/<id>       annotations added later by anyone (write-once framed records)
    blobs/<aa>/<sha256>       content-addressed blobs
    packs/list/<seq>          the pack list: entry <seq> (JSON) names one pack; written once each
    packs/summaries/<sha256>.parquet   finished runs' summaries (content-addressed Parquet)
    packs/metrics/<sha256>.parquet     finished runs' metric columns (content-addressed Parquet)

Backends store opaque ``/``-separated keys; everything that needs to know what a key means
(the store, its index, sync, bundles, the team server's routes) asks this module.
"""

from __future__ import annotations

import re

MARKER = "nbtrack-store.json"
STORE_FORMAT = 1
RUNS, NOTES, BLOBS, PACKS = "runs", "notes", "blobs", "packs"
LOG_NAME = "log"
PACK_LIST = f"{PACKS}/list"
PACK_KINDS = ("summaries", "metrics")
SEQ_DIGITS = 10

_ID = r"[0-9a-z]{1,64}"
_LAYOUT = {
    "log": re.compile(rf"{RUNS}/(?P<run>{_ID})/{LOG_NAME}"),
    "note": re.compile(rf"{NOTES}/(?P<run>{_ID})/(?P<note>{_ID})"),
    "blob": re.compile(rf"{BLOBS}/(?P<aa>[0-9a-f]{{2}})/(?P<sha>[0-9a-f]{{64}})"),
    "pack-entry": re.compile(rf"{PACK_LIST}/(?P<seq>[0-9]{{{SEQ_DIGITS}}})"),
    "pack": re.compile(rf"{PACKS}/(?P<pack>{'|'.join(PACK_KINDS)})/(?P<sha>[0-9a-f]{{64}})\.parquet"),
}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def log_key(run_id: str) -> str:
    return f"{RUNS}/{run_id}/{LOG_NAME}"


def note_key(run_id: str, note_id: str) -> str:
    return f"{NOTES}/{run_id}/{note_id}"


def notes_prefix(run_id: str) -> str:
    return f"{NOTES}/{run_id}"


def blob_key(sha: str) -> str:
    if not _SHA256.fullmatch(sha):
        raise ValueError(f"not a sha256 hex digest: {sha!r}")
    return f"{BLOBS}/{sha[:2]}/{sha}"


def pack_key(kind: str, sha: str) -> str:
    """A pack's key: ``packs/<kind>/<sha256 of its bytes>.parquet``."""
    if kind not in PACK_KINDS or not _SHA256.fullmatch(sha):
        raise ValueError(f"not a pack: {kind!r} {sha!r}")
    return f"{PACKS}/{kind}/{sha}.parquet"


def pack_entry_key(seq: int) -> str:
    return f"{PACK_LIST}/{seq:0{SEQ_DIGITS}d}"


def pack_of(key: str) -> tuple[str, str] | None:
    """(kind, sha256) of a pack key, None when `key` is not one."""
    match = _LAYOUT["pack"].fullmatch(key)
    return None if match is None else (match["pack"], match["sha"])


def entry_seq(key: str) -> int | None:
    """The sequence number of a pack list entry's key, None when `key` is not one."""
    match = _LAYOUT["pack-entry"].fullmatch(key)
    return None if match is None else int(match["seq"])


def run_of(key: str) -> str:
    """The run id in a log or annotation key (``runs/<id>/log``, ``notes/<id>/<note>``)."""
    return key.split("/")[1]


def kind_of(key: str) -> str | None:
    """What `key` is in the layout: ``marker``, ``log``, ``note``, ``blob``, ``pack-entry`` or
    ``pack``; None when it is not a key of the layout at all."""
    if key == MARKER:
        return "marker"
    for kind, pattern in _LAYOUT.items():
        match = pattern.fullmatch(key)
        if match is not None and (kind != "blob" or match["aa"] == match["sha"][:2]):
            return kind
    return None
