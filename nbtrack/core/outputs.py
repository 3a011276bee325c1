"""Cell outputs (nbformat v4 output dicts) capped in size, with a visible marker of what was cut."""

from __future__ import annotations

import json
from typing import Any

from nbtrack.core.nbjson import multiline

DEFAULT_MAX_OUTPUT_BYTES = 512 * 1024


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
        elif mime.startswith("text/") and mime != "text/html" and isinstance(value, (str, list)):
            text = multiline(value)
            capped[mime] = cap_text(text, limit, f"{mime} output")
        else:
            notes.append(f"[nbtrack: {mime} output of {size} bytes not stored (limit {limit})]")
            metadata.pop(mime, None)
    if notes:
        plain = multiline(capped.get("text/plain", ""))
        capped["text/plain"] = (plain + "\n" if plain else "") + "\n".join(notes)
    return {**output, "data": capped, "metadata": metadata}
