"""The run filter language, shared by ``nbtrack.runs()``, the run table and the REST API.

A filter is free text and comparisons, all of which must hold::

    resnet status=finished loss<0.3 lr>=0.01 tag=faces user!=bob name~aug

A comparison is ``FIELD OP VALUE`` with OP one of ``= == != < <= > >= ~`` (``~`` is "contains",
case-insensitive). FIELD is a column (``status``, ``user``, ``params.lr``, ``metrics.loss.last``),
or a short name: a param (``lr``), a metric's last value (``loss``), or ``tag``. Free words must
each appear (case-insensitive) in the run's id, name, user, tags or notes.
"""

from __future__ import annotations

import math
import operator
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_TERM = re.compile(r"""([\w.\-/]+)\s*(<=|>=|!=|==|=|<|>|~)\s*("[^"]*"|'[^']*'|[^\s"']+)""")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
TEXT_FIELDS = ("id", "name", "user", "tags", "notes")
# ASCII characters no text float() accepts can start with (digits, signs, ".", "inf", "nan" and
# whitespace can; non-ASCII digits can too, so only ASCII is ruled out)
_NOT_NUMBER_START = frozenset(chr(c) for c in range(33, 127)) - set("0123456789+-.iInN")


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    value: str

    def matches(self, row: Mapping[str, Any]) -> bool:
        if self.field in ("tag", "tags"):
            tags = [str(t).lower() for t in row.get("tags") or []]
            found = self.value.lower() in tags if self.op != "~" else any(self.value.lower() in t for t in tags)
            return not found if self.op == "!=" else found
        actual = resolve(row, self.field)
        if self.op == "~":
            return actual is not None and self.value.lower() in str(actual).lower()
        return compare(actual, self.op, self.value)


def resolve(row: Mapping[str, Any], field: str) -> Any:
    for key in (field, f"params.{field}", f"metrics.{field}.last", f"metrics.{field}"):
        if key in row:
            return row[key]
    params = row.get("params")
    if isinstance(params, Mapping) and field in params:
        return params[field]
    return None


def number(value: Any) -> float | None:
    """`value` as the number comparisons use (bools 0/1, numeric text parsed), None when it is
    none (or NaN)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value and value[0] in _NOT_NUMBER_START:
        return None  # float() would fail: saves raising and catching for every name and id
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if math.isnan(number) else number


def compare(actual: Any, op: str, expected: str) -> bool:
    if actual is None:
        return op == "!="
    a, b = number(actual), number(expected)
    if a is not None and b is not None:
        return _OPS[op](a, b)
    if isinstance(actual, float) and math.isnan(actual):
        return op == "!="
    if op in ("=", "==", "!="):
        return _OPS[op](str(actual).lower(), expected.lower())
    return _OPS[op](str(actual), expected)


@dataclass(frozen=True)
class Filter:
    comparisons: tuple[Comparison, ...]
    words: tuple[str, ...]

    def matches(self, row: Mapping[str, Any]) -> bool:
        if not all(c.matches(row) for c in self.comparisons):
            return False
        if not self.words:
            return True
        text = haystack(row)
        return all(w in text for w in self.words)


def haystack(row: Mapping[str, Any]) -> str:
    """The text free words are looked for in: the row's id, name, user, tags and notes, lower case."""
    return " ".join(_text(row.get(f)) for f in TEXT_FIELDS).lower()


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v) for v in value)
    if isinstance(value, Mapping):
        return str(value.get("text", ""))
    return "" if value is None else str(value)


def parse(text: str) -> Filter:
    comparisons = []
    for match in _TERM.finditer(text):
        value = match.group(3)
        if value[:1] in "\"'":
            value = value[1:-1]
        comparisons.append(Comparison(match.group(1), match.group(2), value))
    rest = _TERM.sub(" ", text)
    try:
        words = tuple(w.lower() for w in shlex.split(rest))
    except ValueError as exc:
        raise FilterError(f"cannot read filter {text!r}: {exc}") from exc
    for word in words:
        if any(op in word for op in ("<", ">", "=", "~")):
            raise FilterError(f"cannot read {word!r} in filter {text!r}: use FIELD OP VALUE, e.g. loss<0.3")
    return Filter(tuple(comparisons), words)


def predicate(
    spec: str | Mapping[str, Any] | Callable[[Mapping[str, Any]], bool] | None,
) -> Callable[[Mapping[str, Any]], bool]:
    """A row predicate from a filter string, a {field: value} mapping, or a callable."""
    if spec is None or spec == "":
        return lambda row: True
    if callable(spec):
        return spec
    if isinstance(spec, Mapping):
        terms = tuple(Comparison(str(k), "=", str(v)) for k, v in spec.items())
        return Filter(terms, ()).matches
    return parse(str(spec)).matches
