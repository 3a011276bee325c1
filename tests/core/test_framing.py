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


UNENCODABLE = ["\ud800", "a\udfffb", "\udcff.bin", "é\ud83d", "\udc00\ud800"]  # lone surrogates


def test_text_utf8_cannot_encode_is_stored_escaped_and_reads_back_identical() -> None:
    for text in UNENCODABLE:
        record = {"t": "note", "ts": 1.0, "text": text, text: [text], "big": text + "x" * 2000}
        decoded = framing.decode(framing.encode(record) + framing.encode({"t": "after", "ts": 2.0}))
        assert decoded.records == [record, {"t": "after", "ts": 2.0}] and not decoded.damage
    # a high and a low surrogate in a row are one character written in UTF-16: read back as it
    assert framing.decode(framing.encode({"text": "\ud83d\ude00"})).records == [{"text": "\U0001f600"}]


def _resent(cut: int, first: int) -> bytes:
    """A log whose append of frames `first`.. was cut `cut` bytes into it, then sent again whole
    (what a writer retrying after a full disk left before torn appends were cut off)."""
    failed = LOG[OFFSETS[first]:]
    return LOG[: OFFSETS[first]] + failed[:cut] + failed


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=10, max_value=30), st.integers(min_value=1, max_value=len(LOG) - OFFSETS[30] - 1))
def test_a_torn_write_sent_again_is_read_once_and_reported_recovered(first: int, cut: int) -> None:
    decoded = framing.decode(_resent(cut, first))
    if OFFSETS[first] + cut in OFFSETS:  # cut at a frame boundary: no torn frame to recognise
        return
    assert [r["i"] for r in decoded.records] == list(range(40))  # nothing twice, nothing lost
    assert decoded.damage == [] and not decoded.torn_tail
    (stretch,) = decoded.recovered
    assert stretch.start == OFFSETS[first] and stretch.end == OFFSETS[first] + cut


def test_damage_that_only_resembles_a_resend_stays_damage() -> None:
    cut = OFFSETS[12] - OFFSETS[10] + 20  # frames 10 and 11 landed, then 20 bytes of frame 12
    damaged = bytearray(_resent(cut, 10))
    damaged[OFFSETS[12] + 15] ^= 0x01  # the torn bytes differ from the copy that follows them
    decoded = framing.decode(bytes(damaged))
    assert not decoded.recovered and len(decoded.damage) == 1
    assert [r["i"] for r in decoded.records] == [*range(12), *range(10, 40)]
