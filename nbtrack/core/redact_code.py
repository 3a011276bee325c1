"""Python source as redaction sees it: the string literals and comments of a cell, each with the
strength of the secret name it is assigned to (``nbtrack.core.secret_names``).

Only literals and comments are text; the code around them is never changed. A literal is a
secret's value when it is assigned to a secret name (``password = "..."``, ``cfg["api_key"] =
"..."``, ``{"client_secret": "..."}``, a keyword argument with a strong name) and is a value by
itself: not an f-string with fields, not the first piece of an expression (``"token " + t``,
``"%s" % x``, ``"{}".format(x)``), not an auth scheme word.
"""

from __future__ import annotations

import io
import itertools
import re
import tokenize
from dataclasses import dataclass

from nbtrack.core.secret_names import NOT_SECRET, STRONG, secret_strength

# the parts of an f-string's body: fields (code, left alone) and the text between them
FSTRING_PARTS = re.compile(r"(?P<field>\{\{|\}\}|\{[^{}]*\})|(?P<text>[^{}]+|[{}])")
_SCHEME_WORDS = frozenset({"token", "bearer", "basic"})
_LAYOUT_TOKENS = frozenset({tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT})
_OPERATIONS = frozenset({"+", "%", ".", "*"})
_TEXT_TOKENS = (tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", -1))


@dataclass(frozen=True)
class Literal:
    """A string literal or a comment: its place in the source, its body between the quotes (or
    after ``#``), and the strength of the secret name it is assigned to."""

    begin: int
    end: int
    head: str  # prefix and opening quote (``f"``), or ``#``
    body: str
    tail: str  # closing quote
    target: int  # NOT_SECRET, WEAK or STRONG
    fstring: bool


def _string_body(tok: tokenize.TokenInfo) -> tuple[int, int]:
    """(chars before, chars after) the body of a string or comment token."""
    if tok.type == tokenize.COMMENT:
        return 1, 0
    if tok.type != tokenize.STRING:
        return 0, 0
    text = tok.string
    prefix = len(text) - len(text.lstrip("rRbBuUfF"))
    quote = text[prefix:prefix + 3] if text[prefix:prefix + 3] in ('"""', "'''") else text[prefix:prefix + 1]
    return prefix + len(quote), len(quote)


def _is_fstring(tok: tokenize.TokenInfo) -> bool:
    return "f" in tok.string[:len(tok.string) - len(tok.string.lstrip("rRbBuUfF"))].lower()


def _secret_target(recent: list[tokenize.TokenInfo]) -> int:
    """The strength of the name a string is assigned to: ``name =``, ``name=`` (a keyword
    argument: a weak name there is an API's parameter, ``key=``), ``["name"] =``,
    ``name: type =``, ``{"name": ...}`` (a quoted key: ``{key: ...}`` is a variable's value)."""
    if not recent or recent[-1].string not in ("=", ":"):
        return NOT_SECRET
    before = recent[:-1]
    if before and before[-1].string == "]":
        before = before[:-1]
    elif len(before) >= 3 and before[-2].string == ":" and before[-1].type == tokenize.NAME:
        before = before[:-2]  # an annotation: name: type = "..."
    if not before:
        return NOT_SECRET
    name = before[-1]
    # (a name before ":" is a class or def header, a lambda, a slice or a dict's variable key)
    if name.type == tokenize.NAME and recent[-1].string == "=":
        strength = secret_strength(name.string, capitals=False)
        keyword = recent[-1].string == "=" and len(before) >= 2 and before[-2].string in ("(", ",")
        return NOT_SECRET if keyword and strength != STRONG else strength
    if name.type == tokenize.STRING and not name.string.lstrip("rRbBuU").startswith(("f", "F")):
        return secret_strength(name.string.strip("rRbBuU\"'"))
    return NOT_SECRET


def _is_value(tok: tokenize.TokenInfo, body: str, following: str | None) -> bool:
    """A string token that is a value by itself (see the module doc)."""
    if _is_fstring(tok) and "{" in body:
        return False
    return following not in _OPERATIONS and body.strip().lower() not in _SCHEME_WORDS


def literals(text: str) -> list[Literal] | None:
    """The string literals and comments of Python source `text`, in order; None when it does
    not tokenize (IPython syntax, a cell being typed)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    significant = [t for t in tokens if t.type not in _LAYOUT_TOKENS]
    following = {id(t): n.string for t, n in itertools.pairwise(significant)}
    found: list[Literal] = []
    recent: list[tokenize.TokenInfo] = []
    for tok in tokens:
        if tok.type in _TEXT_TOKENS:
            body_from, body_to = _string_body(tok)
            body = tok.string[body_from:len(tok.string) - body_to]
            target = NOT_SECRET
            if tok.type == tokenize.STRING and _is_value(tok, body, following.get(id(tok))):
                target = _secret_target(recent)
            found.append(Literal(starts[tok.start[0] - 1] + tok.start[1], starts[tok.end[0] - 1] + tok.end[1],
                                 tok.string[:body_from], body, tok.string[len(tok.string) - body_to:], target,
                                 _is_fstring(tok)))
        if tok.type not in _LAYOUT_TOKENS:
            recent = [*recent[-4:], tok]
    return found
