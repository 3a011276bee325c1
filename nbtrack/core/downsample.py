"""Downsampling long metric series for display, keeping their shape (min/max envelope).

A chart a few hundred pixels wide cannot show 100,000 points; drawing every point only costs
time. An envelope splits a series into buckets of consecutive points and keep, per bucket, the
point with the lowest and the one with the highest value (in their original order), so spikes
and the range of a noisy curve survive. The points kept are real logged points, never averages.
Non-finite values (NaN, ±inf) are skipped: they cannot be drawn and JSON cannot carry them.

(The one-shot reduction of a stored run's columns is ``nbtrack.api.curves.envelope``, on numpy.)

- ``Envelope``: incremental, for live charts. ``extend()`` returns a *delta* (points to drop from
  the end of what was sent, points to append) so a front end receives only what changed; when
  the series outgrows its capacity, adjacent buckets merge pairwise (bucket width doubles) and
  the delta says ``reset`` (send everything again: a bounded ``2 * capacity`` points, and only
  ``log2(n / capacity)`` times over a whole run). ``fold()`` adds points without a delta: a run's
  writer keeps one envelope per metric that way and stores it when the run finishes
  (``core.series.MetricHistory.curves``), so charts of long finished runs read a few thousand
  points instead of millions.
- ``regroup``: a stored envelope at a coarser resolution (its buckets merged in groups): the
  same min and max as an envelope of the raw points with those bucket boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Point = tuple[float, float, float]  # (step, time, value)


@dataclass
class _Bucket:
    count: int
    low: tuple[int, Point]  # (sequence number, point)
    high: tuple[int, Point]

    def points(self) -> list[Point]:
        if self.low[0] == self.high[0]:
            return [self.low[1]]
        first, second = sorted((self.low, self.high))
        return [first[1], second[1]]

    def add(self, seq: int, point: Point) -> None:
        self.count += 1
        if point[2] < self.low[1][2]:
            self.low = (seq, point)
        if point[2] > self.high[1][2]:
            self.high = (seq, point)

    def merged(self, other: _Bucket) -> _Bucket:
        low = self.low if self.low[1][2] <= other.low[1][2] else other.low
        high = self.high if self.high[1][2] >= other.high[1][2] else other.high
        return _Bucket(self.count + other.count, low, high)


@dataclass
class Delta:
    """What changed since the last delta: drop `drop` points from the end, then append `points`
    (or, when `reset`, replace everything with `points`)."""

    reset: bool
    drop: int
    points: list[Point]
    skipped: int = 0  # non-finite values seen in this batch

    def as_json(self) -> dict[str, Any]:
        return {
            "reset": self.reset,
            "drop": self.drop,
            "step": [p[0] for p in self.points],
            "time": [p[1] for p in self.points],
            "value": [p[2] for p in self.points],
            "skipped": self.skipped,
        }


@dataclass
class Envelope:
    """A live series kept as at most ``capacity`` buckets (≤ ``2 * capacity`` display points)."""

    capacity: int = 1000
    width: int = 1  # raw points per bucket
    count: int = 0  # raw points seen (finite ones)
    skipped: int = 0  # non-finite points seen
    buckets: list[_Bucket] = field(default_factory=list)
    _sent_buckets: int = 0  # buckets[:_sent_buckets] are on the front end...
    _sent_tail: int = 0  # ...and the last of them is shown with this many points
    _reset: bool = True

    def extend(self, steps: Sequence[float], times: Sequence[float], values: Sequence[float]) -> Delta:
        """Add points; returns what to send."""
        return self._delta(self.fold(steps, times, values))

    def fold(self, steps: Sequence[float], times: Sequence[float], values: Sequence[float]) -> int:
        """Add points; returns how many were skipped (not finite). Whole buckets of finite points
        are reduced with C-level min/max/index over slices, so a long batch costs little per point."""
        if not hasattr(values, "index"):  # numpy arrays and other sequences: slices need .index
            steps, times, values = list(steps), list(times), list(values)
        skipped, start, n = 0, 0, min(len(steps), len(times), len(values))
        while start < n:
            last = self.buckets[-1] if self.buckets else None
            room = self.width - last.count if last is not None and last.count < self.width else self.width
            end = min(n, start + room)
            chunk, chunk_steps = values[start:end], steps[start:end]
            try:
                finite = math.isfinite(sum(chunk)) and math.isfinite(sum(chunk_steps))
            except OverflowError:
                finite = False
            if finite:
                low, high = min(chunk), max(chunk)
                a, b = start + chunk.index(low), start + chunk.index(high)
                bucket = _Bucket(
                    end - start,
                    (self.count + a - start, (float(steps[a]), float(times[a]), float(low))),
                    (self.count + b - start, (float(steps[b]), float(times[b]), float(high))),
                )
                self.count += end - start
                self._put(bucket, last)
            else:
                for i in range(start, end):
                    step, value = steps[i], values[i]
                    if math.isfinite(value) and math.isfinite(step):
                        self._add((float(step), float(times[i]), float(value)))
                    else:
                        skipped += 1
            start = end
        self.skipped += skipped
        return skipped

    def _put(self, bucket: _Bucket, last: _Bucket | None) -> None:
        if last is not None and last.count < self.width:
            self.buckets[-1] = last.merged(bucket)
        else:
            self.buckets.append(bucket)
            self._compact()

    def _add(self, point: Point) -> None:
        seq = self.count
        self.count += 1
        last = self.buckets[-1] if self.buckets else None
        if last is not None and last.count < self.width:
            last.add(seq, point)
            return
        self.buckets.append(_Bucket(1, (seq, point), (seq, point)))
        self._compact()

    def _compact(self) -> None:
        if len(self.buckets) > self.capacity:
            pairs = self.buckets
            self.buckets = [
                pairs[i].merged(pairs[i + 1]) if i + 1 < len(pairs) else pairs[i]
                for i in range(0, len(pairs), 2)
            ]
            self.width *= 2
            self._reset = True

    def points(self) -> list[Point]:
        return [p for bucket in self.buckets for p in bucket.points()]

    def bucketed(self) -> tuple[list[int], list[Point]]:
        """Every point kept, with the number of the bucket it is the min or max of."""
        numbers, points = [], []
        for i, bucket in enumerate(self.buckets):
            for point in bucket.points():
                numbers.append(i)
                points.append(point)
        return numbers, points

    def snapshot(self) -> Delta:
        """Everything, as a reset (for a front end that connects late)."""
        return Delta(True, 0, self.points(), self.skipped)

    def _delta(self, skipped: int) -> Delta:
        if self._reset:
            self._reset = False
            delta = Delta(True, 0, self.points(), skipped)
        else:
            start = max(self._sent_buckets - 1, 0)  # the last sent bucket may have grown
            points = [p for bucket in self.buckets[start:] for p in bucket.points()]
            delta = Delta(False, self._sent_tail if self._sent_buckets else 0, points, skipped)
        self._sent_buckets = len(self.buckets)
        self._sent_tail = len(self.buckets[-1].points()) if self.buckets else 0
        return delta


def regroup(buckets: Sequence[float], values: Sequence[float], total: int, groups: int) -> list[int]:
    """Indices of the points to keep when an envelope of `total` buckets (point i is the min or
    max of bucket ``buckets[i]``) is drawn with `groups` buckets: per group of consecutive buckets,
    its lowest and its highest point, in order. Everything when `groups` >= `total`."""
    if groups >= total:
        return list(range(len(values)))
    kept: list[int] = []
    start, n = 0, len(values)
    while start < n:
        group = int(buckets[start]) * groups // total
        end = start
        while end < n and int(buckets[end]) * groups // total == group:
            end += 1
        chunk = values[start:end]
        low = start + min(range(len(chunk)), key=chunk.__getitem__)
        high = start + max(range(len(chunk)), key=chunk.__getitem__)
        kept.extend(sorted({low, high}))
        start = end
    return kept
