"""Metric series: the in-memory history of a live run and the compact record that stores it.

Points are kept as float64 arrays (24 bytes a point: step, time, value), so a million logged
points cost about 24 MB. A ``metrics`` record stores one batch: for a set of keys logged
together, base64 float64 arrays of steps, times and one column per key. Float64 round-trips
NaN and infinities exactly, and the bytes compress well (steps and times are regular).

The history also folds every point into one min/max ``Envelope`` per key (``core.downsample``),
which the run stores when it finishes (`MetricHistory.curves`, a ``curves`` record naming the
blob): what a chart of a long finished run reads instead of every point (`decode_curves`).
"""

from __future__ import annotations

import base64
import sys
import threading
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nbtrack.core import records
from nbtrack.core.downsample import Envelope, regroup

Row = tuple[float, float, dict[str, float]]  # step, time, {key: value}
CURVE_BUCKETS = 2048  # a stored envelope has between half this and this many buckets
CURVES_FORMAT = 1


def _pack(values: Sequence[float]) -> str:
    arr = array("d", values)  # a copy: byteswapping must not touch the caller's data
    if sys.byteorder == "big":
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode("ascii")


def _unpack(text: str) -> array:
    arr = array("d")
    arr.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        arr.byteswap()
    return arr


@dataclass
class Batch:
    """Points of one set of keys logged together, by column."""

    keys: tuple[str, ...]
    steps: Sequence[float]
    times: Sequence[float]
    columns: Sequence[Sequence[float]]


def group_rows(rows: Iterable[Row]) -> list[Batch]:
    """Rows as column batches, one per distinct set of keys (in first-seen order)."""
    groups: dict[tuple[str, ...], Batch] = {}
    for step, ts, values in rows:
        keys = tuple(values)
        batch = groups.get(keys)
        if batch is None:
            batch = groups[keys] = Batch(keys, [], [], [[] for _ in keys])
        batch.steps.append(step)  # type: ignore[attr-defined]
        batch.times.append(ts)  # type: ignore[attr-defined]
        for column, value in zip(batch.columns, values.values()):
            column.append(value)  # type: ignore[attr-defined]
    return list(groups.values())


def encode_metrics(batches: list[Batch], ts: float) -> list[records.MetricsRecord]:
    """One ``metrics`` record per batch."""
    return [records.metrics(b.keys, len(b.steps), _pack(b.steps), _pack(b.times), [_pack(c) for c in b.columns], ts)
            for b in batches]


def decode_metrics(record: Mapping[str, Any]) -> tuple[list[str], array, array, list[array]]:
    keys = list(record["keys"])
    return keys, _unpack(record["step"]), _unpack(record["time"]), [_unpack(v) for v in record["values"]]


class MetricHistory:
    """Every point of a live run, by key, appendable from one thread and readable from others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, tuple[array, array, array]] = {}
        self._envelopes: dict[str, Envelope] = {}

    def add(self, batches: list[Batch]) -> None:
        with self._lock:
            for batch in batches:
                for key, column in zip(batch.keys, batch.columns):
                    series = self._series.get(key)
                    if series is None:
                        series = self._series[key] = (array("d"), array("d"), array("d"))
                        self._envelopes[key] = Envelope(CURVE_BUCKETS)
                    series[0].extend(batch.steps)
                    series[1].extend(batch.times)
                    series[2].extend(column)
                    self._envelopes[key].fold(batch.steps, batch.times, column)

    def curves(self) -> dict[str, Any]:
        """Every key's envelope as a JSON blob (see `decode_curves`)."""
        out: dict[str, Any] = {}
        with self._lock:
            for key, env in self._envelopes.items():
                numbers, points = env.bucketed()
                out[key] = {"count": env.count, "skipped": env.skipped, "buckets": len(env.buckets), "width": env.width,
                            "bucket": _pack([float(n) for n in numbers]), "step": _pack([p[0] for p in points]),
                            "time": _pack([p[1] for p in points]), "value": _pack([p[2] for p in points])}
        return {"format": CURVES_FORMAT, "series": out}

    def extend(self, rows: list[Row]) -> None:
        self.add(group_rows(rows))

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._series)

    def length(self, key: str) -> int:
        with self._lock:
            series = self._series.get(key)
            return 0 if series is None else len(series[0])

    def longest(self) -> int:
        """The number of points of the longest series."""
        with self._lock:
            return max((len(series[0]) for series in self._series.values()), default=0)

    def since(self, cursor: dict[str, int]) -> dict[str, tuple[array, array, array]]:
        """Points after `cursor` (key -> count already seen) as (steps, times, values); moves it."""
        out: dict[str, tuple[array, array, array]] = {}
        with self._lock:
            for key, (steps, times, values) in self._series.items():
                start = cursor.get(key, 0)
                if start < len(steps):
                    out[key] = (steps[start:], times[start:], values[start:])
                    cursor[key] = len(steps)
        return out


@dataclass
class Curve:
    """One metric of a run as a chart draws it: at most ``2 * buckets`` real points (each bucket's
    lowest and highest, in order), the finite points they stand for and the ones left out."""

    step: Sequence[float]
    time: Sequence[float]
    value: Sequence[float]
    count: int  # finite points of the metric
    skipped: int  # non-finite points (not drawn)

    def as_json(self) -> dict[str, Any]:
        return {"step": list(self.step), "time": list(self.time), "value": list(self.value),
                "count": self.count, "skipped": self.skipped}


def decode_curves(blob: Mapping[str, Any], buckets: int, keys: Iterable[str] | None = None) -> dict[str, Curve]:
    """A stored curves blob (`MetricHistory.curves`) drawn with `buckets` buckets."""
    wanted = None if keys is None else set(keys)
    out = {}
    for key, stored in (blob.get("series") or {}).items():
        if wanted is not None and key not in wanted:
            continue
        numbers, values = _unpack(stored["bucket"]), _unpack(stored["value"])
        kept = regroup(numbers, values, int(stored["buckets"]), buckets)
        steps, times = _unpack(stored["step"]), _unpack(stored["time"])
        out[key] = Curve([steps[i] for i in kept], [times[i] for i in kept], [values[i] for i in kept],
                         int(stored["count"]), int(stored["skipped"]))
    return out
