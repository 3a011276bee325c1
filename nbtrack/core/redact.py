"""Secret redaction: no secret reaches the store, and nothing that is not a secret changes.

One `Redactor` per run is the run's **redaction registry**: every value it finds under a secret
name (``nbtrack.core.secret_names``: params, sources, environment variables, magics, dict keys,
DataFrame columns) is remembered and masked wherever it appears later in the run. The nets,
applied to every text the run stores (cell sources, outputs, snapshots, environment variables,
git diffs, params, notes, errors):

- values already known secret: remembered ones, and the values of this process's environment
  variables with secret names;
- credentials inside URLs (``scheme://user:password@host``, a token as the user);
- ``name = value``, ``name: value``, ``"name": "value"``, ``%env NAME=value`` and
  ``%env NAME value`` where the name is secret; in code, a string literal assigned to a secret
  name (an expression such as ``token = get_token()`` is code, and stays);
- the cells of table columns with secret names (DataFrames as text and as HTML,
  ``nbtrack.core.redact_tables``), and dict values under secret keys;
- well-known token shapes (AWS, GitHub, GitLab, Slack, OpenAI, Google, Hugging Face, JWTs,
  PEM private keys) and ``Bearer ...`` / ``Basic ...`` / ``token ...`` credentials.

Never touched: binary payloads (image, audio, video and PDF outputs, ``data:...;base64,`` URIs,
long base64 runs) and code or text that holds no secret (``# Authors: ...`` keeps every word).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from nbtrack.core.redact_code import FSTRING_PARTS, literals
from nbtrack.core.redact_tables import mask_tables
from nbtrack.core.secret_names import (
    MASK,
    NOT_SECRET,
    STRONG,
    is_secret_name,
    looks_like_credential,
    secret_strength,
)

__all__ = ["MASK", "Redactor", "is_secret_name", "redact", "redact_url", "secret_strength"]

MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") are masked where found, never remembered
MIN_VALUE_LENGTH = 3
BINARY_RUN = 200  # a base64 run this long is a binary payload, never text to redact
_NOT_VALUES = frozenset({"true", "false", "none", "null", "nan", MASK.lower()})
_BINARY_MIME_PREFIXES = ("image/", "audio/", "video/", "font/")
_BINARY_MIMES = frozenset({"application/pdf", "application/octet-stream", "application/zip",
                           "application/x-hdf5", "application/vnd.apache.parquet"})

# every secret word contains one of these stems (found with str.find on lower-cased text: fast)
_STEMS = ("pass", "pwd", "secret", "token", "key", "cred", "priv", "auth", "cookie", "signature", "sas", "dsn",
          "conn", "session")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
# after a name: the rest of a quoted key, ``=`` or ``:``, then an opening quote (maybe escaped,
# as a source line is inside a notebook's JSON in a git diff) or a bare value
_SEPARATOR = re.compile(
    r"""(?:\\?["'])?\]?(?:[ \t]*=|:(?!:))[ \t]*(?:(?P<quote>\\*[bru]?\\*(?P<q>["']))|(?=[^\s"'\\]))""")
_BARE_VALUE = re.compile(r"""(?!(?:bearer|basic|token)\s)[^\s"'&,;<>\\()\[\]{}]{3,}(?![\w.(\[-])""", re.I)
_VARIABLE_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_FIELD_LIST = re.compile(r":(?:param|type|arg|ivar|cvar|var|keyword|kwarg|raises)\b[^:\n]*\Z")
_PROSE_GOES_ON = re.compile(r" [a-z]")
_ENV_MAGIC = re.compile(r"(?m)^(?P<head>[ \t]*%(?:env|set_env)[ \t]+(?P<name>[\w.-]+)[ \t]+)(?P<value>[^=\s].*)$")
_MAGIC_LINE = re.compile(r"(?m)^[ \t]*[%!].*$")
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s/:@'\"]*):(?P<password>[^\s/@'\"]+)@"
)
_URL_TOKEN_USER = re.compile(r"(?P<scheme>\bhttps?://)(?P<user>[A-Za-z0-9_\-]{20,})@")
_B64 = "A-Za-z0-9+/"
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
# Token shapes, each its own pattern, a literal prefix first (the scan is then fast). The two
# whose alphabet is base64's must not touch a longer base64 run (an image, not a key):
# `_standalone` checks the characters around them.
_TOKEN_SHAPES = [re.compile(p) for p in (
    r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub
    r"github_pat_[A-Za-z0-9_]{22,}",
    r"glpat-[A-Za-z0-9_\-]{20,}",  # GitLab
    r"xox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
    r"sk-(?:proj-|ant-)?(?=[A-Za-z_\-]*[0-9])[A-Za-z0-9_\-]{20,}",  # OpenAI / Anthropic (never a CSS class)
    r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}",  # JWTs
    r"-----BEGIN[ A-Z]*PRIVATE KEY-----[\s\S]*?(?:-----END[ A-Z]*PRIVATE KEY-----|$)",
)]
_BASE64_SHAPES = [re.compile(p) for p in (
    r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)[0-9A-Z]{16}",  # AWS access key ids
    r"AIza[0-9A-Za-z_\-]{35}",  # Google API keys
)]
# 40 base64 characters alone (an AWS secret access key): after a non-base64 character
_BASE64_40 = re.compile(rf"(?P<before>^|[^{_B64}=])(?P<run>[{_B64}]{{40}})(?![{_B64}=])")
_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(?P<scheme>bearer|token|basic)(?P<space>\s+)(?P<value>[A-Za-z0-9._~+/=\-]{8,})")
_BINARY = re.compile(rf"data:[\w.+-]+/[\w.+-]+;base64,[{_B64}=]{{16,}}|(?:^|(?<=[^{_B64}]))[{_B64}]{{{BINARY_RUN},}}=*")
_LONG_RUN_HINT = re.compile(rf"[{_B64}]{{{BINARY_RUN}}}")


def is_binary_mime(mime: str) -> bool:
    """Output data of this MIME type is a binary payload (base64): stored exactly as shown."""
    return (mime.startswith(_BINARY_MIME_PREFIXES) and mime != "image/svg+xml") or mime in _BINARY_MIMES


def _standalone(match: re.Match[str]) -> str:
    """A base64-alphabet token shape, masked unless it is part of a longer base64 run."""
    text, start, end = match.string, match.start(), match.end()
    if (start and text[start - 1] in _B64_CHARS) or (end < len(text) and text[end] in _B64_CHARS):
        return match[0]
    return MASK


def _mixed_base64(match: re.Match[str]) -> str:
    """40 base64 characters are an AWS secret key when they mix upper case, lower case and
    digits as random text does: digits in two places or a ``/``/``+`` (a path has more
    slashes; ``CreateCloudFrontOriginAccessIdentity2014`` is an identifier)."""
    token = match["run"]
    if not (any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)):
        return match[0]
    slashes = token.count("/")
    if slashes > 3 or not (slashes or "+" in token or len(re.findall(r"\d+", token)) >= 2):
        return match[0]
    return match["before"] + MASK


def _is_basic_credential(value: str) -> bool:
    """``Basic X``: X is base64 of ``user:password``."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


def _scheme_credential(match: re.Match[str]) -> str:
    """``Bearer X`` always; ``Basic X`` and ``token X`` only when X looks like a credential
    (``token generation`` and ``basic statistics`` are words)."""
    scheme, value = match["scheme"].lower(), match["value"]
    if scheme == "bearer" or looks_like_credential(value) or (scheme == "basic" and _is_basic_credential(value)):
        return f"{match['scheme']}{match['space']}{MASK}"
    return match[0]


def _is_value_worth_masking(value: str, strength: int) -> bool:
    """Not a placeholder (``%s``), a boolean, or the name of an environment variable
    (``ACCESS_KEY = "AWS_ACCESS_KEY_ID"`` names where a secret is, it is not one)."""
    if len(value) < MIN_VALUE_LENGTH or value.lower() in _NOT_VALUES or value.startswith((MASK, "%")):
        return False
    if _VARIABLE_NAME.fullmatch(value):
        return False
    return strength == STRONG or looks_like_credential(value)


class Redactor:
    """Redacts text with the nets above; remembers every secret value it finds (`known`: more
    literal values to look for from the start)."""

    def __init__(self, known: Iterable[str] = frozenset()) -> None:
        self._values: set[str] = set()
        self._known: re.Pattern[str] | None = None
        self.learn(known)

    # ---- the registry
    def learn(self, values: Iterable[Any]) -> None:
        """Also mask these literal values from now on (e.g. a value once seen as ``KEY=...``)."""
        fresh = {str(v) for v in values if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
        fresh = {v.strip() for v in fresh}
        fresh = {v for v in fresh if len(v) >= MIN_SECRET_LENGTH and MASK not in v} - self._values
        if fresh:
            self._values |= fresh
            ordered = sorted(self._values, key=len, reverse=True)
            self._known = re.compile("|".join(re.escape(v) for v in ordered))

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self._values)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """A redactor that also knows the values of this process's secret-looking variables
        (paths such as ``$PWD`` or a credentials file's location are not secrets themselves)."""
        env = os.environ if environ is None else environ
        return cls({value for name, value in env.items()
                    if is_secret_name(name) and not os.path.isabs(value)})

    # ---- texts
    def text(self, text: str, code: bool = False) -> str:
        """`text` with secrets masked; `code=True` for source code (spares expressions)."""
        if not text:
            return text
        learned = len(self._values)
        if code and not text.lstrip().startswith("%%"):  # a cell magic's body is not Python
            text = _MAGIC_LINE.sub(lambda m: self._prose(m[0]), text)
            text = self._code(text)
        else:
            text = self._prose(text)
        if len(self._values) != learned:  # learned from this very text: mask earlier mentions too
            text = self._code(text) if code and not text.lstrip().startswith("%%") else \
                self._each_piece(text, self._known_values)
        return text

    def _prose(self, text: str) -> str:
        text = mask_tables(text, self._mask_cell) if "\n" in text or "<t" in text else text
        return self._each_piece(text, lambda piece: self._shapes(self._assignments(piece)))

    @staticmethod
    def _each_piece(text: str, redact: Callable[[str], str]) -> str:
        """`redact` applied to the text between binary payloads (left exactly as they are)."""
        if len(text) < 16 or ("base64," not in text and (len(text) < BINARY_RUN or not _LONG_RUN_HINT.search(text))):
            return redact(text)
        parts, done = [], 0
        for match in _BINARY.finditer(text):
            parts += [redact(text[done:match.start()]) if match.start() > done else "", match[0]]
            done = match.end()
        parts.append(redact(text[done:]) if done < len(text) else "")
        return "".join(parts)

    def _known_values(self, text: str) -> str:
        return self._known.sub(MASK, text) if self._known is not None else text

    def _shapes(self, text: str) -> str:
        """Known values, URL credentials, token shapes and scheme credentials."""
        text = self._known_values(text)
        if "://" in text:
            text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
            text = _URL_TOKEN_USER.sub(lambda m: f"{m['scheme']}{MASK}@", text)
        for shape in _TOKEN_SHAPES:
            text = shape.sub(MASK, text)
        for shape in _BASE64_SHAPES:
            text = shape.sub(_standalone, text)
        if len(text) >= 40:
            text = _BASE64_40.sub(_mixed_base64, text)
        lowered = text.lower()
        if "bearer" in lowered or "token" in lowered or "basic" in lowered:
            text = _SCHEME_CREDENTIAL.sub(_scheme_credential, text)
        return text

    def _mask_cell(self, name: str, value: str) -> bool:
        """Whether a table cell `value` in the column `name` is a secret (it is then learned)."""
        strength = secret_strength(name)
        if strength == NOT_SECRET or not _is_value_worth_masking(value, strength):
            return False
        self._remember(value, strength)
        return True

    def _remember(self, value: Any, strength: int) -> None:
        """Values under strong names are remembered; a weak name's (``key``) are masked in place."""
        if strength == STRONG:
            self.learn([value])

    def _secret_hits(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of every name in `text` that holds a secret stem, in order."""
        lowered = text.lower()
        if len(lowered) != len(text):  # some characters change length when lower-cased
            lowered = "".join(c.lower() if len(c.lower()) == 1 else "_" for c in text)
        hits = set()
        for stem in _STEMS:
            at = lowered.find(stem)
            while at >= 0:
                start, end = at, at + len(stem)
                while start > 0 and text[start - 1] in _NAME_CHARS:
                    start -= 1
                while end < len(text) and text[end] in _NAME_CHARS:
                    end += 1
                hits.add((start, end))
                at = lowered.find(stem, end)
        return sorted(hits)

    def _assignments(self, text: str, code: bool = False) -> str:
        """``secret_name = value`` (or ``:``, or ``%env NAME value``) with the value masked and
        remembered; in `code`, a bare value must mix letters with digits or symbols (else it
        is an expression). Scans for the secret stems first (linear time)."""
        if "%" in text and "env" in text:
            text = _ENV_MAGIC.sub(self._env_magic, text)
        parts: list[str] = []
        done = 0
        for start, end in self._secret_hits(text):
            if start < done:
                continue
            name = text[start:end].strip(".-")
            strength = secret_strength(name)
            if strength == NOT_SECRET or _FIELD_LIST.search(text, max(0, start - 80), start):
                continue  # (``:param password: the password`` documents a name)
            sep = _SEPARATOR.match(text, end)
            if sep is None:
                continue
            value_start = sep.end()
            if sep["q"]:
                close = text.find(sep["q"], value_start)
                newline = text.find("\n", value_start)
                stop = len(text) if close < 0 else close
                if 0 <= newline < stop:
                    stop = newline
                value = text[value_start:stop].rstrip("\\")
            else:
                bare = _BARE_VALUE.match(text, value_start)
                if bare is None:
                    continue
                value = bare[0]
                if code and not (any(c.isalpha() for c in value) and not value.replace("_", "").isalpha()):
                    continue
                if _PROSE_GOES_ON.match(text, bare.end()) and ":" in sep[0] and not any(c.isdigit() for c in value):
                    continue  # "invalid credentials: check your config" is a sentence
            if not _is_value_worth_masking(value, strength):
                continue
            self._remember(value, strength)
            parts += [text[done:value_start], MASK]
            done = value_start + len(value)
        if not parts:
            return text
        parts.append(text[done:])
        return "".join(parts)

    def _env_magic(self, match: re.Match[str]) -> str:
        value = match["value"].strip()
        strength = secret_strength(match["name"])
        if strength == NOT_SECRET or not _is_value_worth_masking(value, strength):
            return match[0]
        self._remember(value, strength)
        return f"{match['head']}{MASK}"

    def _code(self, text: str) -> str:
        """Python source: string literals and comments are text (redacted as such), a literal
        assigned to a secret name is masked whole; code itself is never changed."""
        found = literals(text)
        if found is None:  # not Python (yet): every line as code-ish text
            return self._each_piece(text, lambda piece: self._shapes(self._assignments(piece, code=True)))
        edits: list[tuple[int, int, str]] = []
        for literal in found:
            body = literal.body
            if literal.target != NOT_SECRET and _is_value_worth_masking(body, literal.target):
                self._remember(body, literal.target)
                new_body = MASK
            elif literal.fstring and "{" in body:  # fields are code: only the text between them
                new_body = FSTRING_PARTS.sub(lambda m: m["field"] or self._string_text(m["text"]), body)
            else:
                new_body = self._string_text(body)
            if new_body != body:
                edits.append((literal.begin, literal.end, literal.head + new_body + literal.tail))
        for begin, end, replacement in reversed(edits):
            text = text[:begin] + replacement + text[end:]
        return text

    def _string_text(self, body: str) -> str:
        return self._each_piece(body, lambda piece: self._shapes(self._assignments(piece)))

    # ---- structured values
    def value(self, value: Any) -> Any:
        """`value` with every string inside it redacted, the values under secret keys masked
        (and remembered), and binary payloads (``image/png``...) left exactly as they are."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self._item(k, v) for k, v in value.items()}
        return value

    def _item(self, key: Any, value: Any) -> Any:
        if not isinstance(key, str):
            return self.value(value)
        if is_binary_mime(key):
            return value
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != "":
            strength = secret_strength(key)
            if strength != NOT_SECRET and _is_value_worth_masking(str(value), strength):
                self._remember(value, strength)
                return MASK
        return self.value(value)

    def mapping(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Name -> value pairs (params): values under secret names masked, the rest redacted."""
        return {str(k): self._item(str(k), v) for k, v in values.items()}


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
