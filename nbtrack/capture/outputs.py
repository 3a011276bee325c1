"""The outputs a cell showed, as nbformat v4 output dicts (converted in the run's writer thread).

The IPython layer's output tee (``nbtrack.ipython.tee``) collects what a cell shows as `Item`
references while the cell runs; `to_nbformat` turns them into outputs afterwards, and
`error_fields` an exception into an ``error`` output's fields.
"""

from __future__ import annotations

import traceback
from typing import Any

# buffer items: ("stream", name, text) | ("display", data, metadata) | ("result", data, metadata)
Item = tuple[str, Any, Any]
TRACEBACK_FRAMES = 8


def error_fields(exc: BaseException) -> dict[str, Any]:
    """ename, evalue and a short plain-text traceback (the last frames) of an exception."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-TRACEBACK_FRAMES)
    return {"ename": type(exc).__name__, "evalue": str(exc), "traceback": [line.rstrip("\n") for line in lines]}


def to_nbformat(items: list[Item], dropped: int, execution_count: int | None,
                error: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Buffer items as nbformat v4 outputs (consecutive stream chunks merged)."""
    outputs: list[dict[str, Any]] = []
    for kind, first, second in items:
        if kind == "stream":
            last = outputs[-1] if outputs else None
            if last is not None and last["output_type"] == "stream" and last["name"] == first:
                last["text"] += second
            else:
                outputs.append({"output_type": "stream", "name": first, "text": second})
        elif kind == "display":
            outputs.append(
                {"output_type": "display_data", "data": _jsonable(first), "metadata": _jsonable(second or {})}
            )
        else:
            outputs.append({"output_type": "execute_result", "data": _jsonable(first),
                            "metadata": _jsonable(second or {}), "execution_count": execution_count})
    if dropped:
        outputs.append({"output_type": "stream", "name": "stderr",
                        "text": f"[nbtrack: output cut here, {dropped} more bytes not stored]\n"})
    if error is not None:
        outputs.append({"output_type": "error", **error})
    return outputs


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)
