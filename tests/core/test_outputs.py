"""Stored outputs: rich data whole in blobs of its own, text cut with a marker, streams apart."""

from __future__ import annotations

import base64
import hashlib
import os

from nbtrack.core.outputs import (
    DEFAULT_MAX_OUTPUT_BYTES,
    EXTERNAL_FROM,
    cap_output,
    inline,
    is_own,
    merge_streams,
    prepare,
)
from nbtrack.core.redact import Redactor
from nbtrack.core.reproduce import comparable_outputs


class Blobs(dict):
    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self[sha] = data
        return sha


def test_a_large_figure_is_stored_whole_once_and_never_redacted() -> None:
    assert DEFAULT_MAX_OUTPUT_BYTES == 20 * 1024 * 1024
    raw = os.urandom(3 * 1024 * 1024)
    image = base64.b64encode(raw).decode()  # a 3 MB PNG, 4 MB as base64
    secret = "password=hunter2hunter2"
    figure = {"output_type": "display_data", "metadata": {"image/png": {"width": 640}},
              "data": {"image/png": image, "text/plain": f"<Figure {secret}>",
                       "text/html": "<p>" + "x" * EXTERNAL_FROM + f"{secret}</p>"}}
    blobs = Blobs()
    stored, refs = prepare(figure, blobs.put, Redactor().value)
    again, refs_again = prepare(dict(figure), blobs.put, Redactor().value)
    assert stored == again and refs == refs_again and len(blobs) == 2  # the image and the HTML, once
    assert stored["data"]["image/png"] == "" and len(str(stored)) < 2000
    assert raw in blobs.values()  # the image's own bytes, not its base64
    back = inline(stored, blobs.__getitem__)
    assert back["data"]["image/png"] == image  # byte for byte, not a placeholder
    assert back["data"]["text/plain"] == "<Figure password=[REDACTED]>"
    assert back["data"]["text/html"].endswith("password=[REDACTED]</p>")
    assert back["metadata"] == {"image/png": {"width": 640}}


def test_only_text_is_cut_and_oversized_rich_data_says_so() -> None:
    limit = 1000
    stream = cap_output({"output_type": "stream", "name": "stdout", "text": "y" * 5000}, limit)
    assert stream["text"].startswith("y" * 1000)
    assert "[nbtrack: stdout output cut here, 4000 more bytes" in stream["text"]
    rich = cap_output({"output_type": "display_data", "metadata": {},
                       "data": {"image/png": "A" * 2000, "text/plain": "<Figure>"}}, limit)
    assert "image/png" not in rich["data"]
    assert rich["data"]["text/plain"] == "<Figure>\n[nbtrack: image/png output of 2000 bytes not stored (limit 1000)]"


def test_stdout_and_stderr_are_kept_apart_between_rich_outputs() -> None:
    shown = {"output_type": "display_data", "data": {"text/plain": "shown"}, "metadata": {}}
    outputs = [{"output_type": "stream", "name": "stdout", "text": "a\n"},
               {"output_type": "stream", "name": "stderr", "text": "warn\n"},
               {"output_type": "stream", "name": "stdout", "text": "b\n"}, shown,
               {"output_type": "stream", "name": "stderr", "text": "late\n"}]
    assert merge_streams(outputs) == [
        {"output_type": "stream", "name": "stdout", "text": "a\nb\n"},
        {"output_type": "stream", "name": "stderr", "text": "warn\n"}, shown,
        {"output_type": "stream", "name": "stderr", "text": "late\n"}]
    # a replay whose streams interleave differently compares equal, nbtrack's own chart aside
    chart = {"output_type": "display_data", "data": {"text/plain": "LiveCurves(...)"},
             "metadata": {"nbtrack": {"own": "live"}}}
    replayed = [{"output_type": "stream", "name": "stderr", "text": "warn\n"},
                {"output_type": "stream", "name": "stdout", "text": "a\nb\n"}, chart, shown,
                {"output_type": "stream", "name": "stderr", "text": "late\n"}]
    assert is_own(chart) and not is_own(shown)
    assert comparable_outputs(outputs) == comparable_outputs(replayed)
    assert comparable_outputs(outputs) != comparable_outputs(outputs[:3] + outputs[4:] + [shown])
