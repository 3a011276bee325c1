"""The min/max envelope: bounded size, real points, extremes kept, deltas rebuild the series."""

from __future__ import annotations

import math
import random
from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from nbtrack.core.downsample import Envelope


def rebuild(shown: list[tuple[float, float, float]], delta: dict) -> list[tuple[float, float, float]]:
    """What a front end does with a delta (live.js applyDelta)."""
    points = list(zip(delta["step"], delta["time"], delta["value"]))
    if delta["reset"]:
        return points
    return shown[: len(shown) - delta["drop"]] + points


@settings(max_examples=60, deadline=None)
@given(
    batches=st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=300), max_size=12),
    capacity=st.integers(2, 40),
)
def test_deltas_rebuild_exactly_what_the_envelope_holds(batches: list[list[float]], capacity: int) -> None:
    env = Envelope(capacity)
    shown: list[tuple[float, float, float]] = []
    seen: list[float] = []
    step = 0
    for batch in batches:
        steps = array("d", range(step, step + len(batch)))
        step += len(batch)
        delta = env.extend(steps, steps, array("d", batch)).as_json()
        shown = rebuild(shown, delta)
        seen.extend(v for v in batch if math.isfinite(v))
        assert shown == env.points()
        assert len(shown) <= 2 * capacity
    if seen:
        values = [p[2] for p in shown]
        assert min(values) == min(seen) and max(values) == max(seen)
        assert env.count == len(seen)
    assert [p[0] for p in shown] == sorted(p[0] for p in shown)


def test_resets_are_rare_and_snapshot_matches() -> None:
    env = Envelope(1000)
    rng = random.Random(1)
    resets, sent = 0, 0
    for _ in range(1000):  # 100,000 points in batches of 100
        values = array("d", (rng.random() for _ in range(100)))
        steps = array("d", range(env.count, env.count + 100))
        delta = env.extend(steps, steps, values)
        resets += delta.reset
        sent += len(delta.points)
    assert resets <= 1 + math.ceil(math.log2(100_000 / 1000))
    assert sent < 100_000 / 4  # deltas, not whole arrays
    assert env.snapshot().points == env.points()
    assert len(env.points()) <= 2000
