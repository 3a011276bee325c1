"""Metric series: the in-memory history of a live run and the compact record that stores it.

Points are kept as float64 arrays (24 bytes a point: step, time, value), so a million logged
points cost about 24 MB. A ``metrics`` record stores one batch: for a set of keys logged
together, base64 float64 arrays of steps, times and one column per key. Float64 round-trips
NaN and infinities exactly, and the bytes compress well (steps and times are regular).
"""

from __future__ import annotations

import base64
import sys
import threading
from array import array
from collections.abc import Iterable
from typing import Any

Row = tuple[float, float, dict[str, float]]  # step, time, {key: value}


def _pack(values: Iterable[float]) -> str:
    arr = array("d", values)
    if sys.byteorder == "big":
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode("ascii")


def _unpack(text: str) -> array:
    arr = array("d")
    arr.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        arr.byteswap()
    return arr


def encode_metrics(rows: list[Row], ts: float) -> list[dict[str, Any]]:
    """Records for a batch of rows, one per distinct set of keys (in first-seen order)."""
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(row[2]), []).append(row)
    return [
        {
            "t": "metrics",
            "ts": ts,
            "keys": list(keys),
            "n": len(group),
            "step": _pack(r[0] for r in group),
            "time": _pack(r[1] for r in group),
            "values": [_pack(r[2][k] for r in group) for k in keys],
        }
        for keys, group in groups.items()
    ]


def decode_metrics(record: dict[str, Any]) -> tuple[list[str], array, array, list[array]]:
    keys = list(record["keys"])
    return keys, _unpack(record["step"]), _unpack(record["time"]), [_unpack(v) for v in record["values"]]


class MetricHistory:
    """Every point of a live run, by key, appendable from one thread and readable from others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, tuple[array, array, array]] = {}

    def extend(self, rows: list[Row]) -> None:
        with self._lock:
            for step, ts, values in rows:
                for key, value in values.items():
                    series = self._series.get(key)
                    if series is None:
                        series = self._series[key] = (array("d"), array("d"), array("d"))
                    series[0].append(step)
                    series[1].append(ts)
                    series[2].append(value)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._series)

    def length(self, key: str) -> int:
        with self._lock:
            series = self._series.get(key)
            return 0 if series is None else len(series[0])

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
