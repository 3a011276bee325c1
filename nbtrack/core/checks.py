"""What a caller gives (metric and param names, replay parameter names, nested values) checked
at the call, with an error that says what is wrong there rather than a failure later."""

from __future__ import annotations

import keyword
from typing import Any

MAX_NAME = 200  # characters in a metric or param name


def check_name(what: str, name: object) -> str:
    """`name` if it can name a metric or param: non-empty text of at most `MAX_NAME` printable
    characters; else a ValueError that says why, at the call."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a {what} name must be non-empty text, not {name!r:.80}")
    if len(name) > MAX_NAME or not name.isprintable():
        raise ValueError(f"a {what} name must be at most {MAX_NAME} printable characters, not {name!r:.80}")
    return name


def check_identifier(what: str, name: object) -> str:
    """`name` if it is a Python identifier (not a keyword): what a replay may assign in the
    notebook's code (``name = value``, papermill's way); else a ValueError."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"a {what} name must be a Python identifier, not {name!r:.80}")
    return name


def too_deep(value: Any, limit: int) -> bool:
    """Whether lists, tuples or dicts nest deeper than `limit` in `value` (iterative: a value
    nested 5,000 deep is measured without a RecursionError)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False
