"""Cell outputs (nbformat v4 output dicts) as they are stored: large rich data in blobs of their
own, runaway text cut with a visible marker.

* Rich data (images, HTML, JSON, ...) is kept whole up to `limit` bytes per value (20 MB by
  default, ``$NBTRACK_MAX_OUTPUT_BYTES``). A value over ``EXTERNAL_FROM`` bytes goes to a
  content-addressed blob of its own (`externalize`): the output keeps an empty placeholder and
  ``metadata.nbtrack.blobs[mime] = sha256``, so an identical figure shown by many cells, runs
  and snapshots is stored once; an image is stored as its own bytes, not its base64
  (``metadata.nbtrack.base64`` lists those). `inline` puts the data back; every reader goes through it.
* Only text is cut: a stream, a traceback or a ``text/plain`` value over the limit keeps its
  head and a marker saying how much was dropped. A rich value over the limit (a 50 MB image)
  is replaced by a note in ``text/plain``.
* stdout and stderr are kept as separate streams (`merge_streams`): between two rich outputs
  a cell has at most one stdout output followed by one stderr output, so how the two were
  interleaved in time never changes what is stored or compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nbtrack.core.framing import json_bytes
from nbtrack.core.nbjson import multiline

DEFAULT_MAX_OUTPUT_BYTES = 20 * 1024 * 1024
EXTERNAL_FROM = 32 * 1024  # rich values above this size are stored as blobs of their own
OWN_KEY = "nbtrack"  # output metadata nbtrack owns: {"blobs": {mime: sha}}, {"own": kind}

PutBlob = Callable[[bytes], str]
GetBlob = Callable[[str], bytes]


def cut_marker(dropped: int, what: str = "output") -> str:
    return f"\n[nbtrack: {what} cut here, {dropped} more bytes not stored]\n"


def cap_text(text: str, limit: int, what: str = "output") -> str:
    """`text` if it fits in `limit` bytes (UTF-8), else its head plus a marker of what was cut."""
    if len(text) <= limit // 4:  # fits whatever its encoding: skip measuring
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    head = data[:limit].decode("utf-8", "ignore")
    return head + cut_marker(len(data) - len(head.encode("utf-8", "surrogatepass")), what)


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) if len(value) * 4 > 64 else len(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sum(len(v.encode("utf-8", "surrogatepass")) for v in value)
    return len(json.dumps(value))


def is_json_mime(mime: str) -> bool:
    return mime == "application/json" or mime.endswith("+json")


def merge_streams(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`outputs` with each run of consecutive stream outputs merged into one stdout output then
    one stderr output (other stream names after them, in first-seen order)."""
    merged: list[dict[str, Any]] = []
    block: dict[str, str] = {}

    def close_block() -> None:
        for name in sorted(block, key=lambda n: (n != "stdout", n != "stderr")):
            merged.append({"output_type": "stream", "name": name, "text": block[name]})
        block.clear()

    for output in outputs:
        if output.get("output_type") == "stream":
            name = str(output.get("name", "stdout"))
            block[name] = block.get(name, "") + multiline(output.get("text", ""))
        else:
            close_block()
            merged.append(output)
    close_block()
    return merged


def cap_output(output: dict[str, Any], limit: int = DEFAULT_MAX_OUTPUT_BYTES) -> dict[str, Any]:
    """A copy of one output with every part larger than `limit` bytes cut (text) or replaced by
    a note (binary and JSON data), so the stored output says what is missing."""
    kind = output.get("output_type")
    if kind == "stream":
        text = multiline(output.get("text", ""))
        return {**output, "text": cap_text(text, limit, f"{output.get('name', 'stream')} output")}
    if kind == "error":
        traceback = [str(line) for line in output.get("traceback") or []]
        if sum(len(line) for line in traceback) > limit:
            traceback = [cap_text("\n".join(traceback), limit, "traceback")]
        return {**output, "evalue": cap_text(str(output.get("evalue", "")), limit, "error message"),
                "traceback": traceback}
    data = output.get("data")
    if not isinstance(data, dict):
        return output
    capped: dict[str, Any] = {}
    notes: list[str] = []
    metadata = dict(output.get("metadata") or {})
    for mime, value in data.items():
        size = _size(value)
        if size <= limit:
            capped[mime] = value
        elif mime == "text/plain" and isinstance(value, (str, list)):
            capped[mime] = cap_text(multiline(value), limit, f"{mime} output")
        else:
            notes.append(f"[nbtrack: {mime} output of {size} bytes not stored (limit {limit})]")
            metadata.pop(mime, None)
    if notes:
        plain = multiline(capped.get("text/plain", ""))
        capped["text/plain"] = (plain + "\n" if plain else "") + "\n".join(notes)
    return {**output, "data": capped, "metadata": metadata}


def externalize(output: dict[str, Any], put_blob: PutBlob,
                threshold: int = EXTERNAL_FROM) -> tuple[dict[str, Any], list[str]]:
    """`output` with each rich value over `threshold` bytes moved to a blob; returns the output
    and the blobs it references. Already externalized values stay as they are."""
    data = output.get("data")
    if not isinstance(data, dict):
        return output, []
    own = dict((output.get("metadata") or {}).get(OWN_KEY) or {})
    blobs = dict(own.get("blobs") or {})
    binary = list(own.get("base64") or [])
    moved: dict[str, Any] = {}
    for mime, value in data.items():
        if mime in blobs or mime == "text/plain":
            continue
        if isinstance(value, (str, list)):
            if _size(value) <= threshold:
                continue
            text = multiline(value)
            payload = _decoded(text) if is_binary_mime(mime) else None
            if payload is not None:
                binary.append(mime)  # the image's own bytes: a quarter smaller than its base64
            else:
                payload = text.encode("utf-8", "surrogatepass")
        elif is_json_mime(mime):
            payload = json_bytes(value, sort_keys=True)
            if len(payload) <= threshold:
                continue
        else:
            continue
        blobs[mime] = put_blob(payload)
        moved[mime] = {} if is_json_mime(mime) else ""
    if not moved:
        return output, list(blobs.values())
    own = {**own, "blobs": blobs, **({"base64": binary} if binary else {})}
    metadata = {**(output.get("metadata") or {}), OWN_KEY: own}
    return {**output, "data": {**data, **moved}, "metadata": metadata}, list(blobs.values())


def _decoded(text: str) -> bytes | None:
    """The bytes `text` is the exact base64 of, else None (kept as text then)."""
    import base64
    import binascii

    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode() == text else None


def blobs_of(output: dict[str, Any]) -> list[str]:
    own = (output.get("metadata") or {}).get(OWN_KEY)
    return list((own.get("blobs") or {}).values()) if isinstance(own, dict) else []


def inline(output: dict[str, Any], get_blob: GetBlob) -> dict[str, Any]:
    """`output` with its externalized values read back (the inverse of `externalize`)."""
    metadata = output.get("metadata")
    own = metadata.get(OWN_KEY) if isinstance(metadata, dict) else None
    blobs = own.get("blobs") if isinstance(own, dict) else None
    if not blobs:
        return output
    import base64

    data = dict(output.get("data") or {})
    encoded = set(own.get("base64") or ())  # type: ignore[union-attr]
    for mime, sha in blobs.items():
        raw = get_blob(sha)
        if mime in encoded:
            data[mime] = base64.b64encode(raw).decode()
        else:
            data[mime] = json.loads(raw) if is_json_mime(mime) else raw.decode("utf-8", "surrogatepass")
    rest = {k: v for k, v in own.items() if k not in ("blobs", "base64")}  # type: ignore[union-attr]
    kept = {k: v for k, v in metadata.items() if k != OWN_KEY}  # type: ignore[union-attr]
    if rest:
        kept[OWN_KEY] = rest
    return {**output, "data": data, "metadata": kept}


def is_own(output: dict[str, Any]) -> bool:
    """Whether `output` is one of nbtrack's own displays (a live chart), not the user's."""
    metadata = output.get("metadata")
    own = metadata.get(OWN_KEY) if isinstance(metadata, dict) else None
    return isinstance(own, dict) and bool(own.get("own"))


def is_binary_mime(mime: str) -> bool:
    """Whether nbformat stores `mime` base64-encoded (images, PDFs): never redacted, never cut."""
    return not (mime.startswith("text/") or is_json_mime(mime) or mime.endswith("+xml")
                or mime in ("application/javascript", "application/ecmascript"))


def prepare(output: dict[str, Any], put_blob: PutBlob, redact: Callable[[Any], Any],
            limit: int = DEFAULT_MAX_OUTPUT_BYTES) -> tuple[dict[str, Any], list[str]]:
    """One output as it is stored: capped, binary data moved to blobs before redaction (a
    secret never hides in base64 and scanning megabytes of it costs), everything else redacted,
    then large values moved to blobs too; returns the output and the blobs it references."""
    output = cap_output(output, limit)
    own = None
    if "metadata" in output:
        metadata = dict(output.get("metadata") or {})
        own = metadata.pop(OWN_KEY, None)  # nbtrack's own (blob hashes): never redacted
        output = {**output, "metadata": metadata}
    data = output.get("data")
    data = data if isinstance(data, dict) else {}
    binary = {m: v for m, v in data.items() if is_binary_mime(m)}
    clean = redact({**output, **({"data": {m: v for m, v in data.items() if m not in binary}} if binary else {})})
    if binary:
        clean["data"] = {m: binary[m] if m in binary else clean["data"][m] for m in data}
    if own is not None:
        clean["metadata"] = {**clean.get("metadata", {}), OWN_KEY: own}
    return externalize(clean, put_blob)
