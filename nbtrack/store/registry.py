"""Which backend opens a store URL: the registry of URL schemes.

A plain path or ``file://`` URL is the local-folder backend; bucket schemes go through fsspec
(``pip install 'nbtrack[s3]'`` or ``[gcs]``), ``http(s)://`` is a team store served by a Jupyter
server running nbtrack. The built-in backends are named here by module, and imported only when
a URL of their scheme is opened (fsspec and s3fs take a while to import); other packages add
schemes with `register_backend`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from urllib.parse import urlparse

from nbtrack.store.backend import Backend

BackendFactory = Callable[[str], Backend]

_FSSPEC = "nbtrack.store.fsspec_backend:FsspecBackend"
_HTTP = "nbtrack.store.http_backend:HttpBackend"
BUILT_IN: dict[str, str] = {
    "": "nbtrack.store.local:LocalBackend", "file": "nbtrack.store.local:LocalBackend",
    **dict.fromkeys(("s3", "s3a", "gs", "gcs", "memory", "az", "abfs"), _FSSPEC),
    "http": _HTTP, "https": _HTTP,
}
_REGISTERED: dict[str, BackendFactory] = {}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Make URLs of `scheme` open with `factory(url)` (this wins over a built-in backend)."""
    _REGISTERED[scheme] = factory


def scheme_of(url: str) -> str:
    return urlparse(url).scheme if "://" in url else ""


def open_backend(url: str) -> Backend:
    """The backend for `url`; ValueError naming the known schemes when none handles it."""
    scheme = scheme_of(url)
    factory = _REGISTERED.get(scheme)
    if factory is None and scheme in BUILT_IN:
        module, name = BUILT_IN[scheme].split(":")
        factory = getattr(importlib.import_module(module), name)
    if factory is None:
        known = ", ".join(sorted({"file", *(s for s in BUILT_IN if s), *_REGISTERED}))
        raise ValueError(f"no store backend for {scheme!r} URLs ({url}); known: {known}")
    return factory(url)
