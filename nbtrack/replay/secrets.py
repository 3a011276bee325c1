"""Secrets a replayed cell lost to redaction, and the environment variables that give them back.

A stored source holds ``[REDACTED]`` where the original had a secret (``nbtrack.core.redact``),
so a replay would run altered code. Each masked value that sits under a name (``api_key =
"[REDACTED]"``, ``token="[REDACTED]"`` as an argument, ``"password": "[REDACTED]"``, ``%env
API_KEY=[REDACTED]``) is supplied by the environment variable of that name in upper case
(``API_KEY``); when it is set for the replay, its value is put back as a string literal before
the cell runs (the replay's own run redacts it again). The report names the variable either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from nbtrack.core.secret_names import MASK

_QUOTED = r"(?P<q>['\"])" + re.escape(MASK) + r"(?P=q)"
_SLOTS = [
    re.compile(r"(?P<name>[A-Za-z_][\w.]*)\s*(?::\s*[\w\[\], .]+)?\s*=\s*" + _QUOTED),  # name = "…", name="…"
    re.compile(r"(?P<kq>['\"])(?P<name>[^'\"\n]{1,80})(?P=kq)\s*:\s*" + _QUOTED),  # "name": "…"
    re.compile(r"^(?P<magic>\s*%env\s+)(?P<name>\w+)(?P<sep>\s*=\s*|\s+)" + re.escape(MASK), re.MULTILINE),
]


@dataclass
class Slot:
    variable: str | None  # the environment variable that supplies it (None: the value has no name)
    supplied: bool
    name: str | None = None  # what the code calls it (``api_key``)


def variable_for(name: str) -> str:
    """``api_key`` -> ``API_KEY``; ``cfg.token`` -> ``TOKEN``; ``"X-Api-Key"`` -> ``X_API_KEY``."""
    return re.sub(r"\W+", "_", name.rsplit(".", 1)[-1]).strip("_").upper()


def supply(source: str, environ: Mapping[str, str]) -> tuple[str, list[Slot]]:
    """`source` with each named masked secret whose variable is set in `environ` put back, and
    every masked place (named or not) as a `Slot`."""
    if MASK not in source:
        return source, []
    slots: list[Slot] = []

    def put_back(match: re.Match[str]) -> str:
        variable = variable_for(match.group("name"))
        value = environ.get(variable) if variable else None
        slots.append(Slot(variable or None, value is not None, match.group("name")))
        if value is None:
            return match.group(0)
        if "magic" in match.groupdict() and match.group("magic") is not None:
            return f"{match.group('magic')}{match.group('name')}{match.group('sep')}{value}"
        start = match.start("q") - match.start(0)
        return match.group(0)[:start] + repr(value)

    for pattern in _SLOTS:
        source = pattern.sub(put_back, source)
    unnamed = source.count(MASK) - sum(1 for s in slots if not s.supplied)
    slots += [Slot(None, False)] * max(unnamed, 0)
    return source, slots
