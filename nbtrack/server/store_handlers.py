"""The raw store primitives over HTTP, under ``<base_url>nbtrack/api/store/``: what lets kernels
elsewhere use the store this server serves as a team store (``nbtrack.store.http_backend``).

Every route needs an authenticated user authorized for the ``nbtrack`` resource, like the rest of
the API (so the server's token, ``Authorization: token ...``, works from scripts and kernels).

| method | route | does |
|---|---|---|
| GET | ``store/objects/KEY`` | the object's bytes (404 if absent) |
| GET | ``store/exists/KEY`` | ``{"exists": true or false}`` |
| PUT | ``store/objects/KEY`` | write-once: 201 created, 200 already there; a blob must hash to its key |
| DELETE | ``store/objects/KEY`` | remove a blob or a temporary leftover (``gc``); 204 |
| GET | ``store/list?prefix=P`` | ``{"objects": [[key, size, mtime], ...]}`` (logs excluded) |
| GET | ``store/logs/KEY?offset=N`` | the log's bytes from N on |
| POST | ``store/logs/KEY?offset=N`` | append the body at N: ``{"size": new size}`` (see below) |
| POST | ``store/sync/KEY`` | make the log durable; 204 |
| GET | ``store/log-size/KEY`` | ``{"size": N}`` |
| GET | ``store/log-sizes?prefix=P`` | ``{"sizes": {key: size}}`` |
| GET | ``store/temp-leftovers?older_than=T`` | ``{"keys": [...]}`` |

An append skips the bytes the log already holds at N when they match (a retried append), and is
refused with 409 when they differ or N is past the end. Keys are confined to the store's layout
(``runs/``, ``notes/``, ``blobs/``, ``packs/``, the marker); a blob or a pack must hash to its
key, and only blobs and packs (``gc``) may be deleted.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbtrack.server.handlers import NBTrackHandler
from nbtrack.store.backend import Backend
from nbtrack.store.keys import MARKER, kind_of, pack_of

KEY = r"(?P<key>.+)"
WRITABLE_PREFIXES = ("runs/", "notes/", "blobs/", "packs/")
DELETABLE_PREFIXES = ("blobs/", "packs/summaries/", "packs/metrics/")


class LogConflict(Exception):
    """An append that does not continue the log (a second writer, or a lost segment)."""


class _Appender:
    """Serialises appends per log and remembers each log's size (this server writes them)."""

    def __init__(self) -> None:
        self.locks: dict[str, threading.Lock] = {}
        self.sizes: dict[str, int] = {}
        self.guard = threading.Lock()

    def append_at(self, backend: Backend, key: str, offset: int, data: bytes) -> int:
        with self.guard:
            lock = self.locks.setdefault(key, threading.Lock())
        with lock:
            size = self.sizes.get(key)
            if size is None:
                size = len(backend.read_log(key))
            if offset > size:
                raise LogConflict(f"append at {offset} but the log {key} holds {size} bytes")
            overlap = min(size - offset, len(data))
            if overlap and backend.read_log(key, offset)[:overlap] != data[:overlap]:
                raise LogConflict(f"the log {key} already holds other bytes at {offset}")
            rest = data[overlap:]
            if rest:
                backend.append(key, rest)
            self.sizes[key] = size = max(size, offset + len(data))
            return size


_APPENDERS: weakref.WeakKeyDictionary[Backend, _Appender] = weakref.WeakKeyDictionary()
_APPENDERS_LOCK = threading.Lock()


def _appender(backend: Backend) -> _Appender:
    with _APPENDERS_LOCK:
        found = _APPENDERS.get(backend)
        if found is None:
            found = _APPENDERS[backend] = _Appender()
        return found


def _checked(key: str, prefixes: tuple[str, ...] = WRITABLE_PREFIXES) -> str:
    if key != MARKER and not key.startswith(prefixes):
        raise web.HTTPError(400, f"{key!r} is not a key of the store layout")
    return key


def _verify_blob(key: str, data: bytes) -> None:
    """Content-addressed keys (blobs, packs) must name the hash of their bytes."""
    pack = pack_of(key)
    if key.startswith("packs/") and pack is None and kind_of(key) is None:
        raise web.HTTPError(400, f"{key!r} is not a key of the store layout")
    expected = pack[1] if pack else key.rsplit("/", 1)[-1] if key.startswith("blobs/") else None
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise web.HTTPError(400, f"the bytes sent for {key} do not hash to its name")


class StoreHandler(NBTrackHandler):
    @property
    def backend(self) -> Backend:
        return self.nbtrack.open_store().backend

    def reply_bytes(self, data: bytes) -> None:
        self.finish(data, set_content_type="application/octet-stream")

    def float_arg(self, name: str, default: float) -> float:
        text = self.get_query_argument(name, None)
        try:
            return default if text in (None, "") else float(text)
        except ValueError:
            raise web.HTTPError(400, f"{name} must be a number, not {text!r}") from None

    async def guarded(self, fn: Any, *args: Any) -> Any:
        try:
            return await self.work(fn, *args)
        except LogConflict as exc:
            raise web.HTTPError(409, str(exc)) from exc


class ObjectHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        self.reply_bytes(await self.guarded(self.backend.read, _checked(key)))

    @web.authenticated
    @authorized
    async def put(self, key: str) -> None:
        data = self.request.body
        _verify_blob(_checked(key), data)
        created = await self.guarded(self.backend.write_once, key, data)
        self.reply({"created": created}, status=201 if created else 200)

    @web.authenticated
    @authorized
    async def delete(self, key: str) -> None:
        await self.guarded(self.backend.delete, _checked(key, DELETABLE_PREFIXES))
        self.set_status(204)
        self.finish()


class ExistsHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        self.reply({"exists": await self.guarded(self.backend.exists, _checked(key))})


class ListHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        prefix = self.get_query_argument("prefix", "")
        found = await self.guarded(lambda: [[i.key, i.size, i.mtime] for i in self.backend.list(prefix)])
        self.reply({"objects": found})


class LogHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        offset = self.int_arg("offset", 0) or 0
        self.reply_bytes(await self.guarded(self.backend.read_log, _checked(key, ("runs/",)), offset))

    @web.authenticated
    @authorized
    async def post(self, key: str) -> None:
        offset = self.int_arg("offset", None)
        if offset is None:
            raise web.HTTPError(400, "the query parameter 'offset' is required")
        backend = self.backend
        size = await self.guarded(
            _appender(backend).append_at, backend, _checked(key, ("runs/",)), offset, self.request.body
        )
        self.reply({"size": size})


class SyncHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def post(self, key: str) -> None:
        await self.guarded(self.backend.sync, _checked(key, ("runs/",)))
        self.set_status(204)
        self.finish()


class LogSizeHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        backend = self.backend
        data = await self.guarded(backend.read_log, _checked(key, ("runs/",)))
        self.reply({"size": len(data)})


class LogSizesHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        prefix = self.get_query_argument("prefix", "runs")
        self.reply({"sizes": await self.guarded(self.backend.log_sizes, prefix)})


class TempLeftoversHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        older_than = self.float_arg("older_than", 0.0)
        self.reply({"keys": await self.guarded(self.backend.temp_leftovers, older_than)})


HANDLERS: list[tuple[str, type]] = [
    (rf"store/objects/{KEY}", ObjectHandler),
    (rf"store/exists/{KEY}", ExistsHandler),
    (r"store/list/?", ListHandler),
    (rf"store/logs/{KEY}", LogHandler),
    (rf"store/sync/{KEY}", SyncHandler),
    (rf"store/log-size/{KEY}", LogSizeHandler),
    (r"store/log-sizes/?", LogSizesHandler),
    (r"store/temp-leftovers/?", TempLeftoversHandler),
]
