"""User text shown in a terminal or a plain-text report: never interpreted, always readable."""

from __future__ import annotations


def printable(text: str, keep_newlines: bool = False) -> str:
    """`text` with control characters (terminal escape sequences included) shown escaped, never
    interpreted; `keep_newlines` keeps line breaks (multi-line diffs and reports)."""
    return "".join(c if c.isprintable() or (keep_newlines and c == "\n") else repr(c)[1:-1] for c in text)


def encodable(text: str) -> str:
    """`text` as UTF-8 can encode it: a lone surrogate (``"\\ud800"``, which Python strings may
    hold) shown as its escape. Tables need this: pandas' Arrow-backed strings refuse surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
