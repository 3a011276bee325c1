"""The log format under damage: intact records survive, damage is reported, nothing hangs."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from nbtrack.core import framing

RECORDS = [{"t": "metrics", "ts": float(i), "i": i, "pad": "x" * (i * 37 % 900)} for i in range(40)]
LOG = framing.encode_many(RECORDS)
OFFSETS = []
_pos = 0
for _r in RECORDS:
    OFFSETS.append(_pos)
    _pos += len(framing.encode(_r))


def test_round_trip_keeps_nan_and_large_payloads() -> None:
    record = {"t": "x", "v": float("nan"), "w": float("-inf"), "text": "é" * 5000}
    out = framing.decode(framing.encode(record)).records[0]
    assert out["text"] == record["text"] and out["w"] == float("-inf") and out["v"] != out["v"]


def test_torn_tail_is_reported_and_everything_before_kept() -> None:
    cut = OFFSETS[30] + 7
    decoded = framing.decode(LOG[:cut])
    assert [r["i"] for r in decoded.records] == list(range(30))
    assert decoded.torn_tail and decoded.end == OFFSETS[30]
    assert len(decoded.damage) == 1 and "torn tail" in decoded.damage[0].reason


def test_flipped_byte_costs_one_record_only() -> None:
    damaged = bytearray(LOG)
    damaged[OFFSETS[10] + 20] ^= 0xFF
    decoded = framing.decode(bytes(damaged))
    assert [r["i"] for r in decoded.records] == [i for i in range(40) if i != 10]
    assert not decoded.torn_tail
    assert decoded.damage[0].start == OFFSETS[10] and decoded.damage[0].end == OFFSETS[11]


def test_corrupt_length_field_does_not_swallow_the_rest() -> None:
    damaged = bytearray(LOG)
    damaged[OFFSETS[5] + 5 : OFFSETS[5] + 9] = (len(LOG)).to_bytes(4, "little")  # length past the end
    decoded = framing.decode(bytes(damaged))
    assert [r["i"] for r in decoded.records] == [i for i in range(40) if i != 5]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(LOG)))
def test_any_truncation(cut: int) -> None:
    decoded = framing.decode(LOG[:cut])
    complete = sum(1 for off, nxt in zip(OFFSETS, [*OFFSETS[1:], len(LOG)]) if nxt <= cut)
    assert [r["i"] for r in decoded.records] == list(range(complete))
    assert decoded.end <= cut
    assert bool(decoded.damage) == (cut not in (*OFFSETS, len(LOG)))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(min_value=0, max_value=len(LOG) - 1), st.integers(1, 255)), min_size=1, max_size=8)
)
def test_any_byte_flips(flips: list[tuple[int, int]]) -> None:
    damaged = bytearray(LOG)
    for pos, mask in flips:
        damaged[pos] ^= mask
    decoded = framing.decode(bytes(damaged))
    hit = {next(i for i in reversed(range(40)) if OFFSETS[i] <= pos) for pos, _ in flips}
    got = [r["i"] for r in decoded.records]
    assert set(got) >= set(range(40)) - hit  # every untouched record survives
    assert all(r in RECORDS for r in decoded.records)  # and nothing is invented
    assert bool(decoded.damage) == (bytes(damaged) != LOG)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4000))
def test_garbage_never_raises(data: bytes) -> None:
    decoded = framing.decode(data)
    assert decoded.end <= len(data)


def test_garbage_with_embedded_frames() -> None:
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(3000))
    decoded = framing.decode(noise[:1000] + framing.MAGIC + noise[1000:2000] + LOG + noise[2000:])
    assert [r["i"] for r in decoded.records] == list(range(40))
