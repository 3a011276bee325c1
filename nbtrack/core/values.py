"""Values from frameworks and other trackers made plain: numbers as floats, parameters as JSON
values, nested settings as one level of dotted names."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def number(value: Any) -> float | None:
    """`value` as a float when it is one number (int, float, numpy or torch scalar), else None."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        return float(value) if isinstance(value, bool) else None
    try:
        if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
            value = value.item()
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def read_number(text: str) -> int | float | str:
    """`text` as an int, else a float, when it reads as one; else `text` itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def numbers(values: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    out = {}
    for key, value in values.items():
        as_float = number(value)
        if as_float is not None:
            out[f"{prefix}{key}"] = as_float
    return out


def plain(value: Any) -> Any:
    """A parameter as a JSON value: numbers and text as they are, numpy/torch scalars as numbers,
    containers of those as lists and dicts, anything else as its text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    as_float = number(value)
    if as_float is not None:
        return int(as_float) if as_float.is_integer() and "int" in type(value).__name__.lower() else as_float
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def flatten(values: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """Nested dicts as one level: ``{"optimizer": {"lr": 0.1}}`` -> ``{"optimizer.lr": 0.1}``."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}{sep}", sep))
        else:
            flat[name] = plain(value)
    return flat


def json_ready(value: Any) -> Any:
    """`value` with every non-finite float (NaN, ±inf) as None: browsers' JSON.parse rejects them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value
