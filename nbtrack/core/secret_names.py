"""Which names hold secrets: the word list redaction decides by (``nbtrack.core.redact``).

A name (a variable, a parameter, a dict key, a DataFrame column, an environment variable) is
split into words at ``_``, ``-``, ``.``, spaces, digits and camelCase humps: ``OPENAI_API_KEY``
is ``openai api key``, ``dbPassword`` is ``db password``. Then:

1. A name with a word that says the value is something *about* a secret, not the secret itself,
   is never secret (`DESCRIBING_WORDS`: ``key_size``, ``max_tokens``, ``pad_token``,
   ``primary_key``, ``password_length``, ``token_url``, ``SSH_AUTH_SOCK``...).
2. **Secret words** make any name secret, wherever they stand (`SECRET_WORDS`: ``password``,
   ``passwd``, ``passphrase``, ``passcode``, ``secret``, ``credential(s)``, ``creds``,
   ``apikey``, ``privkey``, ``connstr``, ``sessionid``, ``authorization``), and so do words
   ending with one (``dbpassword``, ``accesstoken``, ``clientsecret``: `SECRET_SUFFIXES`), and
   the pairs ``session id``, ``conn str``, ``connection string``.
3. **Ambiguous words** (`AMBIGUOUS_WORDS`: ``key``, ``token``, ``pass``, ``pwd``, ``auth``,
   ``private``, ``cookie``, ``signature``, ``sas``, ``dsn``) are everyday words in code
   (``sort_key``, ``next_token``, ``forward_pass``). They make a name secret when they are its
   last word and the name is in capitals (an environment variable or a constant: ``DB_PASS``,
   ``WANDB_KEY``, ``PRIVATE``), or the word before says what the credential is for
   (`QUALIFIERS`: ``api_key``, ``access_token``, ``db_pass``, ``private_key``, ``hf_token``...).
   Alone, ``key``, ``token``, ``pass``, ``pwd``, ``auth`` and ``private`` are *weak* secret
   names: ``{"key": "value"}`` is ordinary code, so its value is masked only when it looks like a credential
   (`looks_like_credential`) and is never remembered. Every other secret name is *strong*.

Whole words only: ``Authors``, ``keyboard``, ``monkey``, ``tokenizer``, ``compass`` and
``TOKENIZERS_PARALLELISM`` are not secret names. ``PWD`` and ``OLDPWD`` (the shell's working
folders) are not either, though ``DB_PWD`` is.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

MASK = "[REDACTED]"  # what a secret is replaced with
SECRET_WORDS = frozenset({
    "password", "passwd", "passphrase", "passcode", "secret", "credential", "credentials", "creds",
    "apikey", "privkey", "connstr", "sessionid", "authorization",
})
SECRET_SUFFIXES = ("password", "passwd", "pwd", "passphrase", "secret", "token", "credential", "credentials",
                   "apikey", "privkey", "secretkey", "accesskey", "privatekey", "authkey", "signingkey")
SECRET_PAIRS = frozenset({("session", "id"), ("conn", "str"), ("connection", "string")})
AMBIGUOUS_WORDS = frozenset({"key", "token", "pass", "pwd", "auth", "private", "cookie", "signature", "sas", "dsn"})
LONE_WORDS = frozenset({"key", "token", "pass", "pwd", "auth", "private"})  # weakly secret alone
QUALIFIERS = frozenset({
    # what the credential opens
    "api", "access", "secret", "private", "public", "client", "auth", "bearer", "refresh", "session", "service",
    "account", "app", "application", "admin", "root", "user", "login", "master", "encryption", "signing",
    "license", "subscription", "storage", "personal", "oauth", "jwt", "csrf", "xsrf", "bot", "webhook", "hmac",
    "request", "id", "my", "basic", "http", "proxy", "ssh", "gpg", "pgp", "vpn", "wifi",
    # where it is used
    "db", "database", "sql", "mysql", "postgres", "postgresql", "redis", "mongo", "mongodb", "smtp", "email", "mail",
    "ftp", "ldap", "kafka", "rabbitmq", "jupyter", "notebook", "hub",
    # whose it is
    "openai", "anthropic", "aws", "gcp", "azure", "google", "github", "gh", "gitlab", "hf", "huggingface", "slack",
    "discord", "telegram", "stripe", "twilio", "sendgrid", "wandb", "comet", "neptune", "kaggle", "notion",
    "cohere", "mistral", "groq", "pinecone", "replicate", "together", "deepseek", "gemini", "mapbox", "mlflow",
    "databricks", "snowflake", "dropbox", "twitter", "facebook", "linkedin", "spotify", "weather", "news",
})
DESCRIBING_WORDS = frozenset({
    # sizes, counts and limits
    "size", "len", "length", "count", "num", "number", "max", "min", "limit", "bits", "strength", "budget",
    "usage", "per",
    # what kind, where, how
    "type", "types", "kind", "format", "name", "names", "ids", "path", "paths", "file", "files", "dir",
    "url", "uri", "endpoint", "host", "port", "sock", "socket", "env", "var", "header", "prefix", "suffix",
    "pattern", "regex", "policy", "rotation", "expiry", "expires", "expiration", "ttl", "timeout", "hint",
    "prompt", "reset", "required", "enabled", "mode", "method", "provider", "scheme", "algorithm", "field",
    "fields", "column", "columns", "col", "index", "label", "placeholder", "manager", "handler", "callback",
    "fn", "func", "function", "event", "pressed", "press", "map", "mapping", "lookup", "store", "location",
    "template",
    # keys that are not keys to anything
    "primary", "foreign", "sort", "partition", "cache", "dict", "row", "group", "join", "composite",
    # tokens of a text (language models), not credentials
    "pad", "eos", "bos", "unk", "sep", "cls", "mask", "special", "vocab", "embedding", "embeddings", "start",
    "end",
})
NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})  # the shell's working folders
NOT_SECRET, WEAK, STRONG = 0, 1, 2
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")


def name_words(name: str) -> list[str]:
    """The lower-cased words of `name` (``dbPassword`` -> ``["db", "password"]``)."""
    return [w.lower() for w in _WORD.findall(name)]


@lru_cache(maxsize=4096)
def secret_strength(name: str, capitals: bool = True) -> int:
    """`STRONG` for ``GITHUB_TOKEN``, ``aws_secret_access_key``, ``DB_PASS``, ``apiKey``, ``password``;
    `WEAK` for a lone ambiguous word (``key``, ``token``); `NOT_SECRET` for ``Authors``,
    ``keyboard``, ``sort_key``, ``max_tokens``, ``PWD`` (see the module doc). `capitals=False`
    for a Python identifier: there ``STATUS_KEY`` is a constant naming a dict key, not an
    environment variable, and an ambiguous word needs its qualifier."""
    if name in NOT_SECRET_NAMES:
        return NOT_SECRET
    words = name_words(name)
    if not words or any(w in DESCRIBING_WORDS for w in words):
        return NOT_SECRET
    if any(w in SECRET_WORDS or (w.endswith(SECRET_SUFFIXES) and w not in AMBIGUOUS_WORDS) for w in words) or any(
            pair in SECRET_PAIRS for pair in itertools.pairwise(words)):
        return STRONG
    last = words[-1]
    if last not in AMBIGUOUS_WORDS:
        return NOT_SECRET
    capitals = capitals and name.isupper()
    if len(words) == 1:  # PRIVATE, COOKIE; but key, KEY
        return STRONG if capitals and len(name) > 3 else WEAK if last in LONE_WORDS else NOT_SECRET
    return STRONG if capitals or words[-2] in QUALIFIERS else NOT_SECRET


def is_secret_name(name: str) -> bool:
    return secret_strength(name) != NOT_SECRET


def looks_like_credential(value: str) -> bool:
    """8+ characters, no spaces, letters mixed with digits, not a URL: what a weak secret
    name's value must look like to be masked (``q8ZrT2mWx1`` and ``x7-lantern-9`` do;
    ``value``, ``[PAD]``, ``America/Los_Angeles`` and ``scikit-learn`` do not)."""
    if len(value) < 8 or any(c.isspace() for c in value) or "://" in value:
        return False
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
