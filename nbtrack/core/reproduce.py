"""The reproducibility report: does a replay give what its original gave?

Pure logic (no papermill, no IPython): outputs are nbformat output dicts, metrics are numbers.

* Outputs are turned into comparable texts: stdout and stderr each read whole between two
  rich outputs (``core.outputs.merge_streams``), nbtrack's own displays left out, carriage-return
  overwrites resolved, one representation per rich output (text/plain unless it is only an
  object repr, images by content hash), errors as ``Name: message``; widget views (random
  model ids) are left out.
* Texts are normalised: durations and rates, memory addresses (``0x7f...``), dates and times,
  UUIDs and nbtrack run ids become placeholders, so they never count as differences.
* Two normalised texts are *identical*, *within tolerance* (same text around the numbers and
  every number equal within a relative tolerance) or *different*.
* The verdict: ``failed`` when the replay did not run to the end, ``differs`` when any cell or
  metric differs, ``reproduced within tolerance`` when something only agrees within tolerance,
  else ``reproduced``. Environment and data differences are reported, never a verdict by
  themselves (re-targeting a run on new data is a main use of replay).
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbtrack.core.images import alike
from nbtrack.core.nbjson import multiline
from nbtrack.core.outputs import is_own, merge_streams
from nbtrack.core.snapshot import without_widget_views

IDENTICAL, WITHIN, DIFFERENT = "identical", "within tolerance", "different"
NOT_RUN, NO_ORIGINAL = "not run", "no original"  # cells outside the verdict or failing it
REPRODUCED, REPRODUCED_WITHIN, DIFFERS, FAILED = "reproduced", "reproduced within tolerance", "differs", "failed"
EXIT_CODES = {REPRODUCED: 0, REPRODUCED_WITHIN: 0, DIFFERS: 1, FAILED: 3}
DEFAULT_TOLERANCE = 1e-6
ABS_ZERO = 1e-12  # numbers this close to zero count as zero (a relative tolerance cannot)

_RICH_ORDER = ("text/plain", "text/markdown", "text/html", "text/latex", "application/json", "image/svg+xml")
_OBJECT_REPR = re.compile(r"^<[\w.]+ object(?: at [^>]*)?>$")

_UNIT = r"(?:ns|µs|μs|us|ms|s|sec|secs|seconds?|min|mins|minutes?|h|hrs?|hours?)"
_NUMBER_TEXT = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
# Order matters: whole timestamps before their parts, durations before bare numbers.
_NORMALISERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\b0x[0-9a-fA-F]{4,}\b"), "<address>"),
    (re.compile(r"(?:[\w.:~-]*[/\\])*ipykernel_\d+[/\\]\d+\.py"), "<cell file>"),  # names the kernel's pid
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2}|\s?UTC)?"),
        "<datetime>",
    ),
    (
        re.compile(
            rf"\b(?:{_DAY},?\s+)?{_MONTH}\.?\s+\d{{1,2}},?\s+(?:\d{{4}}\s+)?"  # [Sun,] Nov 29, [2026]
            rf"\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:\s+[A-Z]{{2,5}})?(?:\s+\d{{4}})?"  # 10:00[:00] [UTC] [2026]
        ),
        "<datetime>",
    ),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"), "<date>"),
    (  # dates without a time: "Sun, 29 Nov 2026", "29 November 2026", "Nov 29, 2026"
        re.compile(rf"\b(?:{_DAY},?\s+)?(?:\d{{1,2}}\s+{_MONTH}\.?,?\s+\d{{4}}|{_MONTH}\.?\s+\d{{1,2}},?\s+\d{{4}})\b"),
        "<date>",
    ),
    (re.compile(r"\b\d[\d,]*\s+loops?(?=\s+each\b|,\s+best\b)"), "<n> loops"),  # %timeit's loop count
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b|\[\d+:\d{2}(?:<[\d:?]+)?"), "<time>"),
    (re.compile(rf"(?<![\w.])(?:{_NUMBER_TEXT})\s?(?:it|s|items?|B|kB|MB)/s\b"), "<rate>"),
    (re.compile(rf"(?<![\w.])(?:{_NUMBER_TEXT})\s?{_UNIT}(?![\w/])"), "<duration>"),
]
# an SVG's element ids and the references to them (matplotlib salts its ids with a value drawn
# afresh in every process unless ``svg.hashsalt`` is set)
_SVG_ID = re.compile(r'(\bid="|\bhref="#|url\(#)([^")]+)')
_OWN_WARNING = re.compile(r"^[^\n]*Warning: nbtrack\b[^\n]*\n(?:[ \t]+[^\n]*\n)?", re.MULTILINE)
_RUN_ID = re.compile(r"\b[0-9][0-9a-hjkmnp-tv-z]{15}\b")
_NUMBER = re.compile(rf"(?<![\w.]){_NUMBER_TEXT}(?![\w])|\bnan\b|\b-?inf\b", re.IGNORECASE)
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _looks_like_run_id(text: str) -> bool:
    """16 Crockford base32 characters whose time part falls within 2015..2100."""
    millis = 0
    for char in text[:10]:
        millis = millis * 32 + _ALPHABET.index(char)
    return 1.42e12 < millis < 4.1e12 and any(c.isalpha() for c in text)


def normalise(text: str) -> str:
    """`text` with what legitimately changes between executions replaced by placeholders."""
    for pattern, placeholder in _NORMALISERS:
        text = pattern.sub(placeholder, text)
    return _RUN_ID.sub(lambda m: "<run id>" if _looks_like_run_id(m.group()) else m.group(), text)


def svg_canonical(svg: str) -> str:
    """`svg` with its element ids renamed in the order they first appear (``id0``, ``id1``, ...)
    and every reference renamed alike: two drawings that differ only in their ids compare equal."""
    names: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        return match.group(1) + names.setdefault(match.group(2), f"id{len(names)}")

    return _SVG_ID.sub(rename, svg)


def _resolve_carriage_returns(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        lines.append(line.rsplit("\r", 1)[-1] if "\r" in line else line)
    return "\n".join(lines)


def _digest(value: Any) -> str:
    return hashlib.sha256(multiline(value).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _rich_text(data: Mapping[str, Any]) -> str | None:
    """The output's text representation, plus the content hash of each image it carries."""
    text = None
    for mime in _RICH_ORDER:
        if mime in data:
            value = multiline(data[mime]) if mime != "application/json" else repr(data[mime])
            if mime == "image/svg+xml":
                value = svg_canonical(value)
            if mime == "text/plain" and _OBJECT_REPR.match(value.strip()) and len(data) > 1:
                continue  # `<IPython.core.display.HTML object>`: compare the real representation
            text = f"[{mime}]\n{value}"
            break
    images = [f"[{mime}] sha256 {_digest(data[mime])}" for mime in sorted(data)
              if mime.startswith("image/") and mime != "image/svg+xml"]
    parts = [p for p in (text, *images) if p]
    return "\n".join(parts) if parts else None


def comparable_outputs(outputs: Iterable[Mapping[str, Any]]) -> list[str]:
    """One normalised text per output that carries a result (see the module docstring)."""
    texts: list[str] = []
    last_stream: str | None = None
    # widget views and nbtrack's own displays are no results; between two results, stdout and
    # stderr are each read whole, however they were interleaved in time
    # widget views as the store keeps them, on both sides: their text and fallback image
    outputs = merge_streams([o for o in (without_widget_views(dict(o)) for o in outputs if not is_own(dict(o)))
                             if o is not None])
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            name, text = output.get("name", "stdout"), multiline(output.get("text", ""))
            if name == "stderr":
                text = _OWN_WARNING.sub("", text)  # the tracker's own messages are not results
                if not text:
                    continue
            if last_stream == name:
                texts[-1] += text
            else:
                texts.append(f"[{name}]\n" + text)
            last_stream = name
            continue
        data = output.get("data") or {}
        last_stream = None
        if kind in ("execute_result", "display_data"):
            rich = _rich_text(data)
            if rich is not None:
                texts.append(rich)
        elif kind == "error":
            texts.append(f"[error]\n{output.get('ename', '')}: {output.get('evalue', '')}")
    return [normalise(_resolve_carriage_returns(t)) for t in texts]


def numbers_close(a: float, b: float, tolerance: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=ABS_ZERO)


def compare_text(original: str, replayed: str, tolerance: float) -> str:
    """IDENTICAL, WITHIN (same words, numbers within `tolerance`) or DIFFERENT."""
    if original == replayed:
        return IDENTICAL
    nums_a, nums_b = _NUMBER.findall(original), _NUMBER.findall(replayed)
    if len(nums_a) != len(nums_b) or _NUMBER.sub("#", original) != _NUMBER.sub("#", replayed):
        return DIFFERENT
    for a, b in zip(nums_a, nums_b):
        if not numbers_close(float(a), float(b), tolerance):
            return DIFFERENT
    return WITHIN


def _worst(statuses: Iterable[str]) -> str:
    rank = {IDENTICAL: 0, WITHIN: 1, DIFFERENT: 2}
    return max(statuses, key=lambda s: rank[s], default=IDENTICAL)


def text_difference(original: str, replayed: str, limit: int = 20) -> str:
    """A short unified diff of two texts (at most `limit` lines)."""
    lines = list(
        difflib.unified_diff(original.splitlines(), replayed.splitlines(), "original", "replay", lineterm="", n=1)
    )
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more lines)"]
    return "\n".join(lines)


_IMAGE_LINE = re.compile(r"^\[(image/[\w.+-]+)\] sha256 (\w+)$", re.MULTILINE)


def _images(outputs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """digest -> base64 data of the raster images among `outputs`."""
    found = {}
    for output in outputs:
        for mime, value in (output.get("data") or {}).items():
            if mime.startswith("image/") and mime != "image/svg+xml":
                found[_digest(value)] = multiline(value)
    return found


def _images_alike(a: str, b: str, images_a: Mapping[str, str], images_b: Mapping[str, str]) -> bool:
    """The two texts differ only in images that look the same pixel by pixel."""
    if _IMAGE_LINE.sub("<image>", a) != _IMAGE_LINE.sub("<image>", b):
        return False
    pairs = zip(_IMAGE_LINE.findall(a), _IMAGE_LINE.findall(b))
    return all(x == y or (x[0] == y[0] and x[1] in images_a and y[1] in images_b
                          and alike(images_a[x[1]], images_b[y[1]]) is True) for x, y in pairs)


def compare_outputs(
    original: Sequence[Mapping[str, Any]], replayed: Sequence[Mapping[str, Any]], tolerance: float
) -> tuple[str, list[str]]:
    """Status of a cell's outputs and the texts of its differences (images whose bytes differ
    are compared pixel by pixel, ``core.images``, before they count as different)."""
    texts_a, texts_b = comparable_outputs(original), comparable_outputs(replayed)
    images_a = images_b = None
    statuses, differences = [], []
    for a, b in zip(texts_a, texts_b):
        status = compare_text(a, b, tolerance)
        if status == DIFFERENT and "] sha256 " in a:
            images_a = _images(original) if images_a is None else images_a
            images_b = _images(replayed) if images_b is None else images_b
            status = WITHIN if _images_alike(a, b, images_a, images_b) else DIFFERENT
        statuses.append(status)
        if status == DIFFERENT:
            differences.append(text_difference(a, b))
    for extra in texts_a[len(texts_b):]:
        statuses.append(DIFFERENT)
        differences.append("missing from the replay:\n" + extra[:2000])
    for extra in texts_b[len(texts_a):]:
        statuses.append(DIFFERENT)
        differences.append("only in the replay:\n" + extra[:2000])
    return _worst(statuses), differences


@dataclass
class CellComparison:
    index: int  # position in the replayed notebook
    source: str
    status: str
    differences: list[str] = field(default_factory=list)
    cell_id: str | None = None
    execution_count: int | None = None  # in the original
    cause: str | None = None  # why it differs (``core.causes``), for a different cell
    cause_detail: str | None = None
    nondeterministic: bool | None = None  # differed between two replays (None: not checked)
    secrets: list[str | None] = field(default_factory=list)  # variables supplying its redacted secrets

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "cell_id": self.cell_id, "execution_count": self.execution_count,
                "source": self.source, "status": self.status, "differences": list(self.differences),
                "cause": self.cause, "cause_detail": self.cause_detail, "nondeterministic": self.nondeterministic,
                "secrets": list(self.secrets)}

    @classmethod
    def from_dict(cls, c: Mapping[str, Any]) -> CellComparison:
        return cls(c["index"], c["source"], c["status"], list(c.get("differences") or []), c.get("cell_id"),
                   c.get("execution_count"), c.get("cause"), c.get("cause_detail"), c.get("nondeterministic"),
                   list(c.get("secrets") or []))


def compare_metrics(
    original: Mapping[str, float], replayed: Mapping[str, float], tolerance: float
) -> list[dict[str, Any]]:
    """Each metric's final value in both runs and whether they agree (IDENTICAL/WITHIN/DIFFERENT)."""
    rows = []
    for key in sorted(set(original) | set(replayed)):
        a, b = original.get(key), replayed.get(key)
        if a is None or b is None:
            status = DIFFERENT
        elif a == b or (math.isnan(a) and math.isnan(b)):
            status = IDENTICAL
        else:
            status = WITHIN if numbers_close(a, b, tolerance) else DIFFERENT
        rows.append({"key": key, "original": a, "replay": b, "status": status, "agree": status != DIFFERENT})
    return rows


def normalise_package(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def compare_packages(original: Mapping[str, str], current: Mapping[str, str]) -> list[dict[str, Any]]:
    """Packages whose version differs, or that only one side has (PEP 503 names)."""
    a = {normalise_package(k): str(v) for k, v in original.items()}
    b = {normalise_package(k): str(v) for k, v in current.items()}
    rows = []
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            kind = "missing" if name not in b else "added" if name not in a else "changed"
            rows.append({"package": name, "original": a.get(name), "replay": b.get(name), "kind": kind})
    return rows


def verdict_of(cells: Iterable[CellComparison], metrics: Iterable[Mapping[str, Any]], error: str | None) -> str:
    if error:
        return FAILED
    statuses = [c.status for c in cells] + [m["status"] for m in metrics]
    if DIFFERENT in statuses:
        return DIFFERS
    return REPRODUCED_WITHIN if WITHIN in statuses else REPRODUCED


@dataclass
class Report:
    """What a replay reproduced. `to_dict()` is the REST API's ``Report``."""

    original: str
    replay: str | None
    cells: list[CellComparison]
    metrics: list[dict[str, Any]]
    environment: list[dict[str, Any]] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    order: str = "notebook"
    tolerance: float = DEFAULT_TOLERANCE
    error: str | None = None
    rng: str = "restored"  # "restored": the original's random state before each cell, or "fresh"
    hash_seed: str | None = None  # the replay kernel's PYTHONHASHSEED
    determinism_checked: bool = False  # replayed twice (``--check-determinism``)

    @property
    def verdict(self) -> str:
        return verdict_of(self.cells, self.metrics, self.error)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict, "original": self.original, "replay": self.replay, "order": self.order,
            "tolerance": self.tolerance, "parameters": dict(self.parameters), "error": self.error,
            "cells": [c.to_dict() for c in self.cells], "metrics": list(self.metrics),
            "environment": list(self.environment), "data": list(self.data),
            "rng": self.rng, "hash_seed": self.hash_seed, "determinism_checked": self.determinism_checked,
            "causes": self.causes(),
        }

    def causes(self) -> dict[str, int]:
        """How many differing cells and metrics have each cause."""
        counts: dict[str, int] = {}
        for cause in [c.cause for c in self.cells if c.status == DIFFERENT] + \
                [m.get("cause") for m in self.metrics if m.get("status") == DIFFERENT]:
            counts[cause or "unknown"] = counts.get(cause or "unknown", 0) + 1
        return counts

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        cells = [CellComparison.from_dict(c) for c in data.get("cells", [])]
        return cls(data.get("original", ""), data.get("replay"), cells, list(data.get("metrics", [])),
                   list(data.get("environment", [])), list(data.get("data", [])), dict(data.get("parameters") or {}),
                   data.get("order", "notebook"), float(data.get("tolerance", DEFAULT_TOLERANCE)), data.get("error"),
                   data.get("rng", "restored"), data.get("hash_seed"), bool(data.get("determinism_checked")))
