"""Named, numbered versions in a store: data versions (``train-images@3``), model versions
(``faces@4``) and model aliases (``faces@production``), as write-once JSON objects.

Version ``n`` of a name is the object ``<kind>/<name>/<n, 10 digits>``. A writer lists the
name's versions, tries the next number with ``write_once`` (atomic, and refusing an existing key
on every backend) and, when another process took that number first, tries the one after: two
processes (or machines sharing a bucket) versioning one name at once get distinct numbers and
no version is lost, without any lock. An alias moves by a new numbered record
``aliases/<model>/<alias>/<n>`` naming a version; the highest record is the alias's target, so
nothing is ever rewritten and the history of an alias stays readable.

Every version record names a content manifest (``content``, see ``nbtrack.core.content``);
`referenced_blobs` is what ``gc`` must keep for them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nbtrack.core.content import chunk_refs
from nbtrack.core.identity import user_name
from nbtrack.store.keys import ALIASES, DATA, MODELS, check_name, number_of, numbered_key, numbered_prefix
from nbtrack.store.store import Store

LATEST = "latest"
_REF = re.compile(r"(?P<name>[^@]+)(?:@(?P<selector>[^@]+))?")


class UnknownVersion(LookupError):
    pass


@dataclass(frozen=True)
class Ref:
    """``name``, ``name@3`` or ``name@alias``."""

    name: str
    selector: str = LATEST

    @classmethod
    def parse(cls, text: str) -> Ref:
        match = _REF.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not NAME, NAME@VERSION or NAME@ALIAS")
        return cls(check_name(match["name"]), (match["selector"] or LATEST).lower())

    @property
    def number(self) -> int | None:
        return int(self.selector) if self.selector.isdigit() else None

    def __str__(self) -> str:
        return f"{self.name}@{self.selector}"


def numbers(store: Store, prefix: str) -> list[int]:
    """The numbers published under `prefix`, ascending."""
    found = (number_of(info.key) for info in store.backend.list(prefix))
    return sorted(n for n in found if n is not None)


def publish(store: Store, prefix: str, record: dict[str, Any], field: str = "version") -> dict[str, Any]:
    """Write `record` as the next number under `prefix` (its `field` set to that number)."""
    taken = numbers(store, prefix)
    number = (taken[-1] if taken else 0) + 1
    stamp = {"ts": time.time(), "user": user_name()}
    while True:
        body = {**stamp, **record, field: number}
        if store.backend.write_once(numbered_key(prefix, number), json.dumps(body, sort_keys=True).encode()):
            return body
        number += 1  # another writer took it a moment ago: the next one


def read(store: Store, prefix: str, number: int) -> dict[str, Any]:
    try:
        return dict(json.loads(store.backend.read(numbered_key(prefix, number))))
    except FileNotFoundError:
        raise UnknownVersion(f"{prefix.split('/', 1)[1]}@{number} does not exist") from None


def names(store: Store, kind: str) -> list[str]:
    """Every name that has a version of `kind` (``data`` or ``models``)."""
    found = {info.key.split("/")[1] for info in store.backend.list(kind) if number_of(info.key) is not None}
    return sorted(found)


def versions(store: Store, kind: str, name: str) -> list[dict[str, Any]]:
    prefix = numbered_prefix(kind, name)
    return [read(store, prefix, n) for n in numbers(store, prefix)]


def aliases(store: Store, model: str) -> dict[str, int]:
    """Each alias of `model` and the version its latest move points at."""
    latest: dict[str, int] = {}
    for info in store.backend.list(numbered_prefix(ALIASES, model)):
        parts, number = info.key.split("/"), number_of(info.key)
        if number is not None and len(parts) == 4 and number > latest.get(parts[2], 0):
            latest[parts[2]] = number
    return {alias: int(read(store, numbered_prefix(ALIASES, model, alias), n)["target"])
            for alias, n in sorted(latest.items())}


def move_alias(store: Store, model: str, alias: str, version: int) -> dict[str, Any]:
    if check_name(alias, "alias").isdigit() or alias == LATEST:
        raise ValueError(f"{alias!r} cannot be an alias: it reads as a version")
    read(store, numbered_prefix(MODELS, model), version)  # the version exists
    return publish(store, numbered_prefix(ALIASES, model, alias), {"model": model, "alias": alias,
                                                                   "target": version}, field="move")


def resolve(store: Store, kind: str, ref: Ref | str) -> dict[str, Any]:
    """The version record `ref` names (a number, ``latest``, or for models an alias)."""
    ref = Ref.parse(ref) if isinstance(ref, str) else ref
    prefix = numbered_prefix(kind, ref.name)
    number = ref.number
    if number is None and ref.selector == LATEST:
        taken = numbers(store, prefix)
        if not taken:
            raise UnknownVersion(f"no {'data' if kind == DATA else 'model'} named {ref.name!r}")
        number = taken[-1]
    elif number is None:
        target = aliases(store, ref.name).get(ref.selector) if kind == MODELS else None
        if target is None:
            raise UnknownVersion(f"{ref}: no such {'alias' if kind == MODELS else 'version'}")
        number = target
    return read(store, prefix, number)


def all_versions(store: Store) -> Iterator[dict[str, Any]]:
    for kind in (DATA, MODELS):
        for info in store.backend.list(kind):
            if number_of(info.key) is not None:
                yield json.loads(store.backend.read(info.key))


def referenced_blobs(store: Store) -> set[str]:
    """The content manifest of every data and model version and every chunk it lists: what
    ``gc`` keeps for named versions (runs' records name the same manifests)."""
    keep = set()
    for sha in {v["content"] for v in all_versions(store) if v.get("content")}:
        try:
            listing = store.get_json(sha)
        except (FileNotFoundError, ValueError):  # fsck reports missing or corrupt blobs
            continue
        keep.add(sha)
        keep |= chunk_refs(listing)
    return keep
