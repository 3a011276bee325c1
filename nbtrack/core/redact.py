"""Secret redaction: nothing that looks like a token, key or password reaches the store.

Four nets, applied to every text nbtrack stores from a user's session (cell sources, outputs,
notebook snapshots, environment variables, git diffs):

- values of environment variables whose *names* look secret (``*_TOKEN``, ``*_KEY``,
  ``*PASSWORD*`` ...), wherever they appear;
- credentials inside URLs (``scheme://user:password@host``);
- ``name = value`` / ``name: value`` / ``"name": "value"`` where the name looks secret;
- well-known token shapes: AWS access key ids, GitHub/GitLab/Slack/OpenAI/Google tokens,
  JWTs, ``Bearer ...`` headers and PEM private keys.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 6  # shorter env values ("1", "true") would redact half the text
NOT_SECRET = frozenset({"PWD", "OLDPWD", "SSH_AUTH_SOCK", "XAUTHORITY", "TOKENIZERS_PARALLELISM"})

_SECRET_WORDS = (
    r"token|secret|passw(?:or)?d|passwd|pwd|passphrase|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|secret[_-]?key|client[_-]?secret|credentials?|auth|authorization|"
    r"session[_-]?id|cookie|signature|sas|dsn|conn(?:ection)?[_-]?str(?:ing)?"
)
SECRET_NAME = re.compile(rf"(?i)(?:{_SECRET_WORDS})|(?:^|[_-])key$|^key(?:$|[_-])")

# name (looks secret), = or :, a value. A quoted value is always a secret; an unquoted one is,
# unless it is followed by a call, index or attribute (code such as ``token = get_token()``).
_NAME = rf"(?P<name>\b[\w.-]*(?:{_SECRET_WORDS}|(?<![a-z])key)[\w.-]*)"
_SEP = r"""(?P<sep>["']?\]?\s*(?:=|:)\s*(?P<quote>[bru]?["'])?)"""
_VALUE = r"""(?P<value>(?!\[REDACTED\])(?!(?:bearer|basic|token)\s)[^\s"'&,;<>\\()\[\]{}]{3,})(?![\w.(\[-])"""
# In code, a quoted value is a literal; an unquoted one is an expression unless it mixes letters
# with digits or symbols (``pw = s3cr3t!``); plain numbers (``key_size = 128``) are kept.
_VCHAR = r"""[^\s"'&,;<>\\()\[\]{}]"""
_CODE_VALUE = (
    rf"""(?P<value2>(?!\[REDACTED\])(?={_VCHAR}*[A-Za-z])"""  # not a mask, holds a letter,
    rf"""(?={_VCHAR}*[^A-Za-z_\s"'&,;<>\\()\[\]{{}}])"""  # and a digit or symbol,
    rf"""{_VCHAR}{{3,}})(?![\w.(\[-])"""  # at least 3 characters, not followed by a call
)
_QUOTED = r"""(?P<sep>["']?\]?\s*(?:=|:)\s*[bru]?["'])(?P<value>(?!\[REDACTED\])[^"'\n]{3,})(?=["'])"""
_BARE = r"""(?P<sep2>["']?\]?\s*(?:=|:)\s*)"""
_CODE_ASSIGNMENT = re.compile(rf"(?i){_NAME}(?:{_QUOTED}|{_BARE}{_CODE_VALUE})")
_MAGIC_LINE = re.compile(r"(?m)^[ \t]*[%!].*$")
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s/:@'\"]*):(?P<password>[^\s/@'\"]+)@"
)
_URL_TOKEN_USER = re.compile(r"(?P<scheme>\bhttps?://)(?P<user>[A-Za-z0-9_\-]{20,})@")
# Token shapes, each its own pattern so that the ones with a literal prefix scan fast; the
# AWS secret shape (40 base64 characters) must mix upper case, lower case and digits.
_TOKEN_SHAPES = [re.compile(p) for p in (  # literal first: the regex engine then scans fast
    r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)[0-9A-Z]{16}(?![0-9A-Za-z])",  # AWS access key ids
    r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub
    r"github_pat_[A-Za-z0-9_]{22,}",
    r"glpat-[A-Za-z0-9_\-]{20,}",  # GitLab
    r"xox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
    r"sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}",  # OpenAI / Anthropic
    r"AIza[0-9A-Za-z_\-]{35}",  # Google API keys
    r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}",  # JWTs
    r"-----BEGIN[ A-Z]*PRIVATE KEY-----[\s\S]*?(?:-----END[ A-Z]*PRIVATE KEY-----|$)",
)]
_BASE64_40 = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")  # AWS secret access keys
_SECRET_HIT = re.compile(rf"(?i){_SECRET_WORDS}|key")
# every secret word contains one of these (checked on lower-cased text with str.find: fast)
_SECRET_STEMS = ("token", "secret", "passw", "passphrase", "pwd", "key", "credential", "auth", "session",
                 "cookie", "signature", "sas", "dsn", "conn")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_SECRET_NAME_FULL = re.compile(rf"(?i)[\w.-]*(?:{_SECRET_WORDS}|(?<![a-z])key)[\w.-]*")
_AFTER_NAME = re.compile(rf"(?i){_SEP}{_VALUE}")


def _secret_hits(text: str) -> list[tuple[int, int]]:
    """(start, end) of each secret word in `text`, in order."""
    lowered = text.lower()
    if len(lowered) != len(text):  # some characters change length when lower-cased
        return [(m.start(), m.end()) for m in _SECRET_HIT.finditer(text)]
    hits = []
    for stem in _SECRET_STEMS:
        at = lowered.find(stem)
        while at >= 0:
            hits.append((at, at + len(stem)))
            at = lowered.find(stem, at + 1)
    return sorted(hits)


def _mixed_base64(match: re.Match[str]) -> str:
    token = match[0]
    if any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token):
        return MASK
    return token


_BEARER = re.compile(r"(?i)\b(?P<scheme>bearer|token|basic)(?P<space>\s+)(?P<value>[A-Za-z0-9._~+/=\-]{12,})")


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


def _assigned_to_secret(recent: list[tokenize.TokenInfo]) -> bool:
    """The tokens before a string: ``secret_name =``, ``secret_name:``, ``["secret_name"] =``."""
    if not recent or recent[-1].string not in ("=", ":"):
        return False
    before = recent[:-1]
    if before and before[-1].string == "]":
        before = before[:-1]
    elif len(before) >= 3 and before[-2].string == ":" and before[-1].type == tokenize.NAME:
        before = before[:-2]  # an annotation: name: type = "..."
    if not before:
        return False
    name = before[-1]
    if name.type == tokenize.NAME:
        return is_secret_name(name.string)
    if name.type == tokenize.STRING:
        return is_secret_name(name.string.strip("rRbBuUfF\"'"))
    return False


def _code_mask(m: re.Match[str]) -> str:
    return f"{m['name']}{m['sep'] or m['sep2']}{MASK}"


def is_secret_name(name: str) -> bool:
    """True for names like ``GITHUB_TOKEN``, ``aws_secret_access_key``, ``DB_PASSWORD``, ``API_KEY``."""
    return name not in NOT_SECRET and bool(SECRET_NAME.search(name))


class Redactor:
    """Redacts text with the four nets; `known` adds literal secret values to look for."""

    def __init__(self, known: set[str] | frozenset[str] = frozenset()) -> None:
        self._values: set[str] = set()
        self._known: re.Pattern[str] | None = None
        self.learn(known)

    def learn(self, values: Iterable[str]) -> None:
        """Also mask these literal values from now on (e.g. a value once printed as ``KEY=...``)."""
        fresh = {v for v in values if len(v) >= MIN_SECRET_LENGTH and v != MASK} - self._values
        if fresh:
            self._values |= fresh
            ordered = sorted(self._values, key=len, reverse=True)
            self._known = re.compile("|".join(re.escape(v) for v in ordered))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """A redactor that also knows the values of this process's secret-looking variables
        (paths such as ``$PWD`` or a credentials file's location are not secrets themselves)."""
        env = os.environ if environ is None else environ
        return cls({value for name, value in env.items()
                    if is_secret_name(name) and not os.path.isabs(value)})

    def text(self, text: str, code: bool = False) -> str:
        """`text` with secrets masked; `code=True` for source code (spares expressions)."""
        if not text:
            return text
        if self._known is not None:
            text = self._known.sub(MASK, text)
        if "://" in text:
            text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
            text = _URL_TOKEN_USER.sub(lambda m: f"{m['scheme']}{MASK}@", text)
        for shape in _TOKEN_SHAPES:
            text = shape.sub(MASK, text)
        text = _BASE64_40.sub(_mixed_base64, text)
        lowered = text.lower()
        if "bearer" in lowered or "token" in lowered or "basic" in lowered:
            text = _BEARER.sub(lambda m: f"{m['scheme']}{m['space']}{MASK}", text)
        if code:  # IPython magics and shell lines are not Python: redact them as text
            text = _MAGIC_LINE.sub(lambda m: self._assignments(m[0]), text)
            return self._code(text)
        return self._assignments(text)

    def _assignments(self, text: str) -> str:
        """``secret_name = value`` (or ``:``) with the value masked; learns masked values.
        Scans for the secret words first, then looks at each candidate name (linear time)."""
        parts: list[str] = []
        done = 0
        for start, end in _secret_hits(text):
            if start < done:
                continue
            while start > done and text[start - 1] in _NAME_CHARS:
                start -= 1
            while end < len(text) and text[end] in _NAME_CHARS:
                end += 1
            if not _SECRET_NAME_FULL.fullmatch(text, start, end):
                continue
            match = _AFTER_NAME.match(text, end)
            if match is None:
                continue
            if len(match["value"]) >= 8:
                self.learn([match["value"]])
            parts += [text[done:end], match["sep"], MASK]
            done = match.end()
        if not parts:
            return text
        parts.append(text[done:])
        return "".join(parts)

    def _code(self, text: str) -> str:
        """Python source: string literals and comments are text (redacted as such), a literal
        assigned to a secret-looking name is masked whole; code itself is left alone."""
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, SyntaxError):
            return _CODE_ASSIGNMENT.sub(_code_mask, text)
        lines = text.splitlines(keepends=True)
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line))
        edits: list[tuple[int, int, str]] = []
        recent: list[tokenize.TokenInfo] = []
        for tok in tokens:
            if tok.type in (tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", -1)):
                begin = starts[tok.start[0] - 1] + tok.start[1]
                end = starts[tok.end[0] - 1] + tok.end[1]
                body_from, body_to = _string_body(tok)
                body = tok.string[body_from:len(tok.string) - body_to]
                if tok.type == tokenize.STRING and _assigned_to_secret(recent) and body:
                    new_body = MASK
                else:
                    new_body = self._assignments(body)
                if new_body != body:
                    edits.append(
                        (begin, end, tok.string[:body_from] + new_body + tok.string[len(tok.string) - body_to :])
                    )
            if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                recent = [*recent[-4:], tok]
        for begin, end, replacement in reversed(edits):
            text = text[:begin] + replacement + text[end:]
        return text

    def value(self, value: Any) -> Any:
        """`value` with every string inside it (dict keys kept) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def mapping(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Name -> value pairs (params, env vars): secret-looking names get their value masked."""
        return {k: MASK if is_secret_name(str(k)) and v not in (None, "") else self.value(v) for k, v in values.items()}


SIGNATURE_PARAMETERS = frozenset({"sig", "session"})  # signed-URL query parameters (Azure SAS, ...)


def redact_url(url: str) -> str:
    """`url` without secrets (a password, or query parameters such as ``token=`` or ``sig=``):
    the form a store URL takes wherever it is kept (index, records, messages)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not (is_secret_name(k) or k.lower() in SIGNATURE_PARAMETERS)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))


def redact(text: str) -> str:
    """`text` redacted with this process's environment known."""
    return Redactor.from_environ().text(text)
