"""A run's summary (``RunState.summary_fields``) as the index's SQL rows, and back.

The index keeps one ``runs`` row per run (what tables show, as columns) and, for filters and sorts
in SQL, one ``params`` row per param, one ``metrics`` row per metric key and one ``tags`` row per
tag. Besides the values themselves, rows carry what the filter language (``core.filters``) and
the sort order (``core.paging``) read of a value, computed here in Python so that SQL answers
exactly as the in-memory predicate does:

* ``fnum``: the value as comparisons read a number (``filters.number``: bools as 0/1, numeric
  text parsed), NULL when it is none;
* ``text`` / ``lower``: ``str(value)`` as comparisons read text (``lower`` is NULL when it equals
  ``text``);
* ``kind``, ``num``, ``stext``: the sort key (``paging.sort_key``): numbers (and bools) by
  ``num``, before text by ``stext`` (lists: their items joined), missing values (None, NaN) last.

Text base fields (id, name, user, host, notebook, replay_of, parent, sweep) get ``<field>_lower`` and
``<field>_num`` columns for the same reasons.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from nbtrack.core.filters import haystack, number
from nbtrack.core.framing import compact_json

KIND_NONE, KIND_NAN, KIND_NUMBER, KIND_TEXT = 0, 1, 2, 3
TEXT_FIELDS = ("id", "name", "user", "host", "notebook", "replay_of", "parent", "sweep")
FIGURES = ("last", "min", "max")  # metric figures tables show (column ``metrics.<key>.<figure>``)
FIGURE_COLUMNS = {"last": "last_v", "min": "min_v", "max": "max_v"}

# the summary part of a ``runs`` row, in order (the index prepends its bookkeeping columns)
SUMMARY_COLUMNS = (
    "name", "status", "user", "host", "boot_id", "pid", "heartbeat", "started", "ended", "last_seen",
    "notebook", "kernel_id", "replay_of", "parent", "sweep", "origin", "tags", "note_texts", "params", "metrics",
    "curves", "start", "words", "tags_sort",
    *(f"{f}_{suffix}" for f in TEXT_FIELDS for suffix in ("lower", "num")),
)
SUMMARY_TYPES = (
    "TEXT NOT NULL", "TEXT NOT NULL", "TEXT NOT NULL", "TEXT NOT NULL", "TEXT NOT NULL", "INTEGER NOT NULL",
    "REAL NOT NULL", "REAL NOT NULL", "REAL", "REAL NOT NULL", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT",
    "TEXT NOT NULL", "TEXT", "TEXT NOT NULL", "TEXT NOT NULL", "TEXT", "TEXT NOT NULL", "TEXT NOT NULL",
    "TEXT NOT NULL", *("TEXT", "REAL") * len(TEXT_FIELDS),
)
SUMMARY_SCHEMA = ",\n    ".join(f"{c} {kind}" for c, kind in zip(SUMMARY_COLUMNS, SUMMARY_TYPES, strict=True))
PARAM_COLUMNS = ("key", "run", "kind", "num", "fnum", "text", "lower", "stext")  # a ``params`` row
METRIC_COLUMNS = ("key", "run", "last_v", "min_v", "max_v")  # a ``metrics`` row
# What the derived columns were computed by: rows stored elsewhere (packs) with another version
# are computed again from their summary fields (the last number: raise it whenever `summary_row`
# or `value_columns` compute something else).
VERSION = hashlib.sha256(repr((SUMMARY_COLUMNS, SUMMARY_TYPES, PARAM_COLUMNS, METRIC_COLUMNS,
                               unicodedata.unidata_version, 2)).encode()).hexdigest()[:16]


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _lower_or_none(text: str) -> str | None:
    lowered = text.lower()
    return None if lowered == text else lowered


def value_columns(value: Any) -> tuple[int, float | None, float | None, str | None, str | None, str | None]:
    """(kind, num, fnum, text, lower, stext) of one value (see the module docstring)."""
    if value is None:
        return KIND_NONE, None, None, None, None, None
    text = str(value)
    lower = text.lower()
    if isinstance(value, float) and math.isnan(value):
        return KIND_NAN, None, None, text, _none_if(lower, text), None
    fnum = number(value)
    if isinstance(value, (bool, int, float)) and fnum is not None:
        return KIND_NUMBER, fnum, fnum, text, _none_if(lower, text), None
    stext = ", ".join(str(v) for v in value).lower() if isinstance(value, (list, tuple)) else lower
    return KIND_TEXT, None, fnum, text, _none_if(lower, text), _none_if(stext, lower)


def _none_if(value: str, same_as: str) -> str | None:
    return None if value == same_as else value


def _float(value: Any) -> float | None:
    """A metric figure as SQL stores it: NaN becomes NULL (SQLite has no NaN)."""
    return None if value is None or math.isnan(value) else float(value)


def summary_row(fields: Mapping[str, Any]) -> tuple[Any, ...]:
    """The summary columns (``SUMMARY_COLUMNS``) of a run's summary fields."""
    tags, notes = list(fields["tags"]), list(fields["notes"])
    metrics = {k: [m["last"], m["min"], m["max"], m["step"], m["count"]] for k, m in fields["metrics"].items()}
    flat = {"id": fields["id"], "name": fields["name"], "user": fields["user"], "tags": tags, "notes": notes}
    derived = []
    for name in TEXT_FIELDS:
        value = fields.get(name)
        text = None if value is None else str(value)
        derived += [None if text is None else _lower_or_none(text), number(value)]
    origin = fields.get("origin")
    return (
        fields["name"], fields["status"], fields["user"], fields["host"], fields["boot_id"], int(fields["pid"] or 0),
        float(fields["heartbeat"]), float(fields["started"]), fields["ended"], float(fields["last_seen"]),
        fields.get("notebook"), fields.get("kernel_id"), fields.get("replay_of"), fields.get("parent"),
        fields.get("sweep"), None if origin is None else compact_json(origin), compact_json(tags),
        compact_json(notes) if notes else None, compact_json(fields["params"]), compact_json(metrics),
        fields.get("curves"), iso(fields["started"]), haystack(flat),
        ", ".join(str(t) for t in tags).lower(), *derived,
    )


def summary_fields(run_id: str, row: Sequence[Any]) -> dict[str, Any]:
    """The summary fields of run `run_id` from its summary columns (the inverse of `summary_row`)."""
    (name, status, user, host, boot_id, pid, heartbeat, started, ended, last_seen, notebook, kernel_id,
     replay_of, parent, sweep, origin, tags, notes, params, metrics, curves) = row[:21]
    return {
        "id": run_id, "name": name, "status": status, "user": user, "host": host, "boot_id": boot_id, "pid": pid,
        "started": started, "ended": ended, "last_seen": last_seen, "heartbeat": heartbeat,
        "tags": json.loads(tags), "params": json.loads(params),
        "metrics": {k: {"last": m[0], "min": m[1], "max": m[2], "step": m[3], "count": m[4]}
                    for k, m in json.loads(metrics).items()},
        "notebook": notebook, "kernel_id": kernel_id, "replay_of": replay_of, "parent": parent, "sweep": sweep,
        "origin": None if origin is None else json.loads(origin), "notes": json.loads(notes) if notes else [],
        "curves": curves,
    }


FIELDS_COLUMNS = SUMMARY_COLUMNS[:21]  # what `summary_fields` reads


def param_rows(run_id: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    return [(key, run_id, *value_columns(value)) for key, value in params.items()]


def metric_rows(run_id: str, metrics: Mapping[str, Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return [(key, run_id, _float(m["last"]), _float(m["min"]), _float(m["max"])) for key, m in metrics.items()]


def tag_rows(run_id: str, tags: Sequence[Any]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((str(tag).lower(), run_id) for tag in tags))
