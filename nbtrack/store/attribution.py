"""Who wrote a run: trusted attribution, never the run's own say-so.

A run's header says who recorded it (``user``), but anyone who can write to a store can write
any header. What decides "is this someone else's code" (``nbtrack replay``, the REST replay and
the lab's dialog) is what the storage itself attests, per store kind (README, "Trust model"):

* **team server** (``http(s)://``): the server stamps who created each run (``runs/<id>/stamp``,
  written when the first append of a new log arrives; clients can never write it) and who
  wrote each annotation (``by``, set by the server on every annotation it accepts);
* **folder**: the OS account owning the log file, and each annotation file;
* **bucket**: nothing (whoever holds the credentials writes as the same owner), so a bucket's
  runs are never "verified yours".

A run is the asker's when its log was created by them and every snapshot (the code a replay
runs) was written by them; where the storage only knows who copied the bytes (a folder: an
imported or synced run belongs to whoever copied it), the header's ``user`` must also be theirs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from nbtrack.core import framing
from nbtrack.core.records import ANNOTATION_KINDS
from nbtrack.core.state import reduce
from nbtrack.core.sweep_state import EVENT_KINDS
from nbtrack.store.backend import TEAM_SERVER, Backend, Writer
from nbtrack.store.keys import kind_of, log_key, notes_prefix, run_of, stamp_key

WriterOf = Callable[[str], "Writer | None"]


def read_stamp(backend: Backend, run_id: str) -> Writer | None:
    """The team server's stamp of who created run `run_id` (None: no stamp)."""
    try:
        data = json.loads(backend.read(stamp_key(run_id)))
        return Writer(str(data["user"]), TEAM_SERVER, str(data.get("name") or ""))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def write_stamp(backend: Backend, run_id: str, writer: Writer) -> Writer:
    """Stamp `writer` as the creator of `run_id` unless a stamp exists; returns the stamp."""
    stamp = {"user": writer.name, "name": writer.display, "ts": time.time()}
    if backend.write_once(stamp_key(run_id), json.dumps(stamp).encode()):
        return writer
    return read_stamp(backend, run_id) or writer


def sign_annotation(data: bytes, writer: Writer) -> bytes:
    """An annotation's records with ``by`` set to `writer` (whatever the client wrote there);
    ValueError unless it is intact framed records of the kinds others may add."""
    return _signed(data, writer, ANNOTATION_KINDS, "an annotation", "may hold")


def sign_sweep_event(data: bytes, writer: Writer) -> bytes:
    """A sweep event's records with ``by`` set to `writer`; ValueError unless it is intact
    framed records of the sweep event kinds (``nbtrack.core.sweep_state``)."""
    return _signed(data, writer, EVENT_KINDS, "a sweep event", "may be")


def _signed(data: bytes, writer: Writer, kinds: Collection[str], what: str, allowed: str) -> bytes:
    """`data`'s records signed by `writer`; ValueError unless they are intact and of `kinds`
    (`what` they are and how the message names the `allowed` kinds)."""
    decoded = framing.decode(data)
    if decoded.damage or decoded.torn_tail or not decoded.records:
        raise ValueError(f"{what} must be intact framed records")
    for record in decoded.records:
        if record.get("t") not in kinds:
            raise ValueError(f"{what} {allowed} {', '.join(sorted(kinds))} records, not {str(record.get('t'))[:40]!r}")
    return framing.encode_many([{**record, "by": writer.name} for record in decoded.records])


def stamped_writer(backend: Backend, key: str) -> Writer | None:
    """Who wrote `key` as a team server knows it: a log's stamp, an annotation's ``by``; what
    was written straight into the served folder (no stamp) falls back on `backend.writer`."""
    kind = kind_of(key)
    if kind == "log":
        stamp = read_stamp(backend, run_of(key))
        if stamp is not None:
            return stamp
    elif kind == "note":
        try:
            authors = {r.get("by") for r in framing.decode(backend.read(key)).records}
        except FileNotFoundError:
            return None
        if len(authors) == 1 and isinstance(next(iter(authors)), str):
            return Writer(str(next(iter(authors))), TEAM_SERVER)
    return backend.writer(key)


@dataclass
class Attribution:
    """Who wrote each part of a run a replay would run, and whether all of it is the asker's."""

    run_id: str
    started: float
    declared: str  # the header's `user`: a claim, shown, never trusted alone
    host: str
    creator: Writer | None  # who created the log (None: the store cannot tell)
    snapshots: list[tuple[int, Writer | None]] = field(default_factory=list)  # (index, author)
    me: frozenset[tuple[str, str]] = frozenset()  # the asker, as (name, basis) the store knows
    my_name: str | None = None  # the asker's own user name, compared with `declared`

    def _is_me(self, writer: Writer | None) -> bool:
        return writer is not None and (writer.name, writer.basis) in self.me

    @property
    def started_iso(self) -> str:
        return datetime.fromtimestamp(self.started, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    def reasons(self) -> list[str]:
        """Why this run is not verifiably the asker's (empty: it is)."""
        found = []
        if self.creator is None:
            found.append("this store cannot tell who wrote it")
        elif not self._is_me(self.creator):
            found.append(f"its log was written by {self.creator}")
        elif (self.creator.basis != TEAM_SERVER and self.my_name is not None and self.declared
              and self.declared != self.my_name):
            found.append(f"its user is {self.declared}, not {self.my_name}")
        for index, author in self.snapshots:
            if author is None or (author != self.creator and not self._is_me(author)):
                found.append(f"snapshot {index} was added by {author or 'someone this store cannot name'}")
        return found

    @property
    def mine(self) -> bool:
        return not self.reasons()

    def describe(self) -> str:
        """One sentence: whose run it is and who wrote what."""
        text = (f"run {self.run_id} (started {self.started_iso}) was recorded by {self.declared or 'an unknown user'}"
                f" on {self.host or 'an unknown host'}")
        reasons = self.reasons()
        return text + (": " + "; ".join(reasons) if reasons else "")

    def as_json(self) -> dict[str, Any]:
        """What the REST API and the lab's replay dialog show."""
        owner = self.creator
        return {
            "owner": owner.display or owner.name if owner else self.declared,
            "owner_verified": owner is not None,
            "owner_basis": owner.basis if owner else "claimed by the run",
            "declared_user": self.declared,
            "yours": self.mine,
            "authors": [{"snapshot": i, "name": a.name if a else None, "basis": a.basis if a else None}
                        for i, a in self.snapshots],
            "reasons": self.reasons(),
            "summary": self.describe(),
        }


def attribution(
    backend: Backend,
    run_id: str,
    me: Collection[Writer | None],
    my_name: str | None,
    writer_of: WriterOf | None = None,
) -> Attribution:
    """Who wrote run `run_id` and its snapshots (`writer_of`: how the asker's side knows who
    wrote a key, ``backend.writer`` by default; a team server passes `stamped_writer`)."""
    who = writer_of or backend.writer
    log = framing.decode(backend.read_log(log_key(run_id))).records
    creator = who(log_key(run_id))
    sources: dict[tuple[float, Any], Writer | None] = {}  # a snapshot (time, manifest) -> author
    for record in log:
        if record.get("t") == "snapshot":
            sources[(float(record.get("ts") or 0), record.get("manifest"))] = creator
    annotations = []
    for info in sorted(backend.list(notes_prefix(run_id)), key=lambda i: i.key):
        if kind_of(info.key) != "note":
            continue
        found = [r for r in framing.decode(backend.read(info.key)).records if r.get("t") in ANNOTATION_KINDS]
        author = who(info.key) if any(r.get("t") == "snapshot" for r in found) else None
        for record in found:
            if record.get("t") == "snapshot":
                sources[(float(record.get("ts") or 0), record.get("manifest"))] = author
        annotations += found
    state = reduce(log + annotations)
    return Attribution(
        run_id=run_id, started=state.started, declared=state.user, host=state.host, creator=creator,
        snapshots=[(s["index"], sources.get((float(s.get("time") or 0), s.get("manifest")))) for s in state.snapshots],
        me=frozenset((w.name, w.basis) for w in me if w is not None), my_name=my_name,
    )
