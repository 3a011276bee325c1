"""Framed, checksummed records: the byte format of every run log.

A frame is ``MAGIC | flags (u8) | length (u32 LE) | crc32 (u32 LE) | payload``. The CRC covers
the flags, the length and the payload, so a flipped bit anywhere in a frame is detected. The
payload is one JSON object (UTF-8), zlib-compressed when ``flags & COMPRESSED``.

Reading never raises on damaged bytes: intact frames are returned, and every damaged or torn
stretch is reported as a :class:`Damage` with its byte range. After damage the reader scans
forward for the next frame whose checksum holds, so one flipped byte costs one record, not the
rest of the log. A torn tail (an incomplete last frame, as a crash mid-write leaves) is reported
separately so that a live writer's half-written frame is not mistaken for corruption.

A write cut short and then sent again whole (a full disk, before writers truncated their own
torn tails) leaves a torn stretch followed by a copy of what it began: the reader recognises the
repeat, keeps the copy once and reports the stretch as recovered (``Decoded.recovered``), not as
damage.

Text that UTF-8 cannot encode (a lone surrogate such as ``"\\ud800"``, which Python strings may
hold) is written as JSON ``\\u`` escapes and reads back as the identical string.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAGIC = b"\xa7NBT"
HEADER = struct.Struct("<BII")  # flags, payload length, crc32
FRAME_OVERHEAD = len(MAGIC) + HEADER.size
COMPRESSED = 0x01
MAX_PAYLOAD = 256 * 1024 * 1024
_COMPRESS_ABOVE = 512
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # (the C scanner: no stub)


@dataclass(frozen=True)
class Damage:
    """A stretch of a log that holds no intact frame."""

    start: int
    end: int
    reason: str

    def __str__(self) -> str:
        return f"bytes {self.start}-{self.end}: {self.reason}"


@dataclass
class Decoded:
    records: list[dict[str, Any]]
    damage: list[Damage]  # corruption, and the torn tail (last) when there is one
    end: int  # offset just past the last intact frame
    torn_tail: bool  # the bytes after `end` look like an incomplete final frame
    recovered: list[Damage] = field(default_factory=list)  # torn writes sent again after them


# (sort_keys, ensure_ascii) -> an encoder made once: ``json.dumps`` with options builds one per call
_ENCODERS = {(keys, ascii_only): json.JSONEncoder(separators=(",", ":"), ensure_ascii=ascii_only, sort_keys=keys)
             for keys in (False, True) for ascii_only in (False, True)}


def compact_json(value: Any, sort_keys: bool = False) -> str:
    """`value` as compact JSON text (``json.dumps(value, separators=(",", ":"))``)."""
    return _ENCODERS[sort_keys, True].encode(value)


def json_bytes(value: Any, sort_keys: bool = False) -> bytes:
    """`value` as compact UTF-8 JSON; text UTF-8 cannot encode (lone surrogates) is written as
    ``\\u`` escapes, which read back as the identical string."""
    try:
        return _ENCODERS[sort_keys, False].encode(value).encode()
    except UnicodeEncodeError:
        return compact_json(value, sort_keys).encode()


def encode(record: Mapping[str, Any]) -> bytes:
    """One record as a frame. NaN and infinities are kept (JSON extension, read back exactly)."""
    payload = json_bytes(record)
    flags = 0
    if len(payload) > _COMPRESS_ABOVE:
        packed = zlib.compress(payload, 1)
        if len(packed) < len(payload):
            payload, flags = packed, COMPRESSED
    crc = zlib.crc32(payload, zlib.crc32(struct.pack("<BI", flags, len(payload))))
    return MAGIC + HEADER.pack(flags, len(payload), crc) + payload


def encode_many(records: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(encode(r) for r in records)


def _loads(text: str) -> Any:
    """``json.loads`` without its per-call overhead for the compact JSON frames hold (anything
    else, e.g. surrounding whitespace, goes to ``json.loads`` itself)."""
    try:
        value, stop = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if stop == len(text) else json.loads(text)


def _frame_at(data: bytes, pos: int) -> tuple[str, dict[str, Any] | None, int]:
    """Try to read one frame at `pos`: ('ok', record, next) / ('short', None, _) / ('bad', None, _)."""
    n = len(data)
    if n - pos < FRAME_OVERHEAD:
        return ("short" if MAGIC.startswith(data[pos : pos + 4]) else "bad"), None, n
    if data[pos : pos + 4] != MAGIC:
        return "bad", None, pos + 1
    flags, length, crc = HEADER.unpack_from(data, pos + 4)
    start = pos + FRAME_OVERHEAD
    if length > MAX_PAYLOAD or flags & ~COMPRESSED:
        return "bad", None, pos + 1
    if start + length > n:
        return "short", None, n
    payload = data[start : start + length]
    if zlib.crc32(payload, zlib.crc32(struct.pack("<BI", flags, length))) != crc:
        return "bad", None, pos + 1
    try:
        if flags & COMPRESSED:
            payload = zlib.decompress(payload)
        record = _loads(payload.decode())
    except (zlib.error, ValueError, RecursionError):
        return "bad", None, pos + 1
    if not isinstance(record, dict):
        return "bad", None, pos + 1
    return "ok", record, start + length


def decode(data: bytes, base: int = 0) -> Decoded:
    """Every intact frame of `data`; `base` is added to reported offsets."""
    records: list[dict[str, Any]] = []
    damage: list[Damage] = []
    recovered: list[Damage] = []
    starts: list[int] = []  # where each intact frame since the last damage began
    pos, end, n = 0, 0, len(data)
    bad_from: int | None = None
    torn = False
    while pos < n:
        state, record, nxt = _frame_at(data, pos)
        if state == "ok":
            if bad_from is not None:
                resent = _resent_from(data, starts, bad_from, pos)
                if resent is None:
                    damage.append(Damage(base + bad_from, base + pos, "corrupt bytes skipped"))
                else:  # the frames from `resent` on were sent again at `pos`: keep them once
                    del records[len(records) - sum(1 for s in starts if s >= resent) :]
                    recovered.append(Damage(base + resent, base + pos, "torn write, sent again after it"))
                starts, bad_from = [], None
            assert record is not None
            records.append(record)
            starts.append(pos)
            pos = end = nxt
            continue
        if state == "short" and bad_from is None and _next_magic(data, pos + 1) == n:
            torn = True  # nothing intact can follow: a write cut short, not corruption
            break
        if bad_from is None:
            bad_from = pos
        pos = _next_magic(data, pos + 1)
    if bad_from is not None:
        damage.append(Damage(base + bad_from, base + n, "corrupt bytes at end of log"))
    if torn:
        damage.append(Damage(base + end, base + n, "torn tail: incomplete last record"))
    return Decoded(records, damage, base + end, torn, recovered)


def _resent_from(data: bytes, starts: list[int], bad: int, resumed: int) -> int | None:
    """Where the torn write that left `data[bad:resumed]` began, when everything from there to
    `resumed` is repeated at `resumed` (the writer sent the same bytes again, whole); else None."""
    for begin in (*starts, bad):  # the longest repeat is the one (a short torn stub repeats by chance)
        length = resumed - begin
        head = min(length, FRAME_OVERHEAD)  # a cheap look first: frame headers carry their CRC
        if data[begin : begin + head] == data[resumed : resumed + head] and (
            data[begin:resumed] == data[resumed : resumed + length]
        ):
            return begin
    return None


def _next_magic(data: bytes, pos: int) -> int:
    found = data.find(MAGIC, pos)
    return len(data) if found < 0 else found
