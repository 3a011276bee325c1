"""The store's layout: every key a store holds, built and recognised in one place.

::

    nbtrack-store.json        format marker
    runs/<run id>/log         the run's append-only log (one writer: the run's process)
    runs/<run id>/stamp       who created the run, written by a team server (never by a client)
    notes/<run id>/<id>       annotations added later by anyone (write-once framed records)
    blobs/<aa>/<sha256>       content-addressed blobs
    packs/list/<seq>          the pack list: entry <seq> (JSON) names one pack; written once each
    packs/summaries/<sha256>.parquet   finished runs' summaries (content-addressed Parquet)
    packs/metrics/<sha256>.parquet     finished runs' metric columns (content-addressed Parquet)
    data/<name>/<number>      a numbered data version (write-once JSON; ``store.versions``)
    models/<name>/<number>    a numbered model version (write-once JSON)
    aliases/<model>/<alias>/<number>   one move of a model alias (write-once; the highest wins)
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
RUNS, NOTES, BLOBS, SWEEPS, PACKS = "runs", "notes", "blobs", "sweeps", "packs"
LOG_NAME = "log"
PACK_LIST = f"{PACKS}/list"
PACK_KINDS = ("summaries", "metrics")
SEQ_DIGITS = 10
STAMP_NAME = "stamp"

_ID = r"[0-9a-z]{1,64}"
_LAYOUT = {
    "log": re.compile(rf"{RUNS}/(?P<run>{_ID})/{LOG_NAME}"),
    "stamp": re.compile(rf"{RUNS}/(?P<run>{_ID})/{STAMP_NAME}"),
    "note": re.compile(rf"{NOTES}/(?P<run>{_ID})/(?P<note>{_ID})"),
    "blob": re.compile(rf"{BLOBS}/(?P<aa>[0-9a-f]{{2}})/(?P<sha>[0-9a-f]{{64}})"),
    "sweep": re.compile(rf"{SWEEPS}/(?P<sweep>{_ID})/(?P<event>{_ID})"),
    "pack-entry": re.compile(rf"{PACK_LIST}/(?P<seq>[0-9]{{{SEQ_DIGITS}}})"),
    "pack": re.compile(rf"{PACKS}/(?P<pack>{'|'.join(PACK_KINDS)})/(?P<sha>[0-9a-f]{{64}})\.parquet"),
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


def sweep_of(key: str) -> str | None:
    """The sweep id of a sweep event's key (``sweeps/<id>/<event>``), None when `key` is not one."""
    match = _LAYOUT["sweep"].fullmatch(key)
    return None if match is None else match["sweep"]


def run_of(key: str) -> str:
    """The run id in a log or annotation key (``runs/<id>/log``, ``notes/<id>/<note>``)."""
    return key.split("/")[1]


def kind_of(key: str) -> str | None:
    """What `key` is in the layout: ``marker``, ``log``, ``stamp``, ``note``, ``blob``, ``sweep``,
    ``pack-entry``, ``pack`` or a named version's kind; None when it is not a key of the layout."""
    if key == MARKER:
        return "marker"
    for kind, pattern in _LAYOUT.items():
        match = pattern.fullmatch(key)
        if match is not None and (kind != "blob" or match["aa"] == match["sha"][:2]):
            return kind
    return None


# ---- named, numbered versions (data versions, model versions and model aliases)
DATA, MODELS, ALIASES = "data", "models", "aliases"
NAMED_PREFIXES = (f"{DATA}/", f"{MODELS}/", f"{ALIASES}/")
NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,99}"
NUMBER_DIGITS = 10
_NAME = re.compile(NAME_PATTERN)
_NUMBER = rf"[0-9]{{{NUMBER_DIGITS}}}"
_LAYOUT.update({
    "data-version": re.compile(rf"{DATA}/{NAME_PATTERN}/{_NUMBER}"),
    "model-version": re.compile(rf"{MODELS}/{NAME_PATTERN}/{_NUMBER}"),
    "alias": re.compile(rf"{ALIASES}/{NAME_PATTERN}/{NAME_PATTERN}/{_NUMBER}"),
})


def check_name(name: str, what: str = "name") -> str:
    """`name` when it is a valid version name (lowercase letters, digits, ``.``, ``_``, ``-``)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"{what} {name!r} is not valid: use up to 100 lowercase letters, digits, '.', '_' "
                         "or '-', starting with a letter or digit")
    return name


def numbered_prefix(kind: str, *names: str) -> str:
    """The folder of the numbered records of `names` (``data/<name>``, ``aliases/<model>/<alias>``)."""
    return "/".join([kind, *(check_name(n) for n in names)])


def numbered_key(prefix: str, number: int) -> str:
    if not 0 < number < 10**NUMBER_DIGITS:
        raise ValueError(f"version numbers run from 1, not {number}")
    return f"{prefix}/{number:0{NUMBER_DIGITS}d}"


def number_of(key: str) -> int | None:
    """The number a numbered key ends with (None for any other key)."""
    last = key.rsplit("/", 1)[-1]
    return int(last) if len(last) == NUMBER_DIGITS and last.isdigit() else None


_PREFIX = re.compile(rf"(?:{RUNS}|{NOTES}|{BLOBS}|{SWEEPS}|{PACKS}|{DATA}|{MODELS}|{ALIASES})?|{NOTES}/{_ID}"
                     rf"|{BLOBS}/[0-9a-f]{{2}}|{SWEEPS}/{_ID}|{PACK_LIST}|{PACKS}/(?:{'|'.join(PACK_KINDS)})"
                     rf"|(?:{DATA}|{MODELS}|{ALIASES})/{NAME_PATTERN}|{ALIASES}/{NAME_PATTERN}/{NAME_PATTERN}")


def is_layout_prefix(prefix: str) -> bool:
    """Whether `prefix` (a listing's) names a folder of the layout: ``""``, ``runs``, ``notes``,
    ``blobs``, ``sweeps``, ``packs``, ``notes/<run id>``, ``blobs/<aa>``, ``sweeps/<sweep id>``,
    ``packs/list``, ``packs/<kind>``, or a folder of numbered versions (``data``, ``data/<name>``,
    ``models/<name>``, ``aliases/<model>/<alias>``...)."""
    return _PREFIX.fullmatch(prefix.strip("/")) is not None


def run_logs(keys: Iterable[str]) -> list[str]:
    """The keys among `keys` that are run logs of the layout (``runs/<id>/log``)."""
    return [key for key in keys if kind_of(key) == "log"]
