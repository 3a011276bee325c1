"""Run ids: sortable by creation time, unique without coordination, short enough to type.

An id is 10 Crockford base32 characters of milliseconds since the epoch followed by 6 random
ones (the ULID layout, lower case): ``01jd3k8q2x-`` order is time order, and two machines
starting runs in the same millisecond still differ in the random part.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_run_id(now: float | None = None) -> str:
    millis = int((time.time() if now is None else now) * 1000)
    return _base32(millis, 10) + _base32(secrets.randbits(30), 6)


def derived_run_id(started: float, key: str) -> str:
    """The id of a run that stands for something outside nbtrack (an MLflow run, a W&B run): the
    same layout, with the random part drawn from `key`, so importing it again gives the same id."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") >> 2
    return _base32(int(started * 1000), 10) + _base32(digest, 6)


class AmbiguousId(LookupError):
    pass


class UnknownRun(LookupError):
    pass


def resolve_prefix(prefix: str, ids: Iterable[str]) -> str:
    """The one id starting with `prefix`; a clear error when none or several do."""
    prefix = prefix.strip().lower()
    if not prefix:
        raise UnknownRun("empty run id")
    matches = [i for i in ids if i.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnknownRun(f"no run matches {prefix!r}")
    shown = ", ".join(sorted(matches)[:5])
    raise AmbiguousId(
        f"{prefix!r} matches {len(matches)} runs ({shown}{', ...' if len(matches) > 5 else ''}); type more characters"
    )
