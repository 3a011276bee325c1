"""The raw store primitives over HTTP, under ``<base_url>nbtrack/api/store/``: what lets kernels
elsewhere use the store this server serves as a team store (``nbtrack.store.http_backend``).

Every route needs an authenticated user authorized for the ``nbtrack`` resource, like the rest of
the API (so the server's token, ``Authorization: token ...``, works from scripts and kernels).
Every write is bound to that user (``current_user``), the identity the server authenticated:

* the first append to a new log stamps its creator (``runs/<id>/stamp``, which no client can
  write); after that only the creator appends to it, finished or not (403 for anyone else);
* every annotation is signed with its writer (``by``, whatever the client sent) and may only
  hold the kinds others may add (notes, tags, snapshots, reports, params); every sweep event
  is signed alike and must be one of the sweep event kinds;
* nothing is ever deleted through these routes (403): a blob some run still refers to, the
  store marker, a run. ``nbtrack gc`` runs where the store lives (``nbtrack --store FOLDER gc``
  on the server's machine), where it can see every run that refers to a blob;
* keys outside the store's layout (``nbtrack.store.keys``) are refused (400), symbolic links
  inside the store are never followed (403), and an object or a log append larger than
  ``c.NBTrack.max_object_bytes`` (or a log past ``c.NBTrack.max_log_bytes``) is refused (413)
  before its body is read whole.

| method | route | does |
|---|---|---|
| GET | ``store/objects/KEY`` | the object's bytes (404 if absent) |
| GET | ``store/exists/KEY`` | ``{"exists": true or false}`` |
| PUT | ``store/objects/KEY`` | write-once: 201 created, 200 already there; a blob must hash to its key |
| DELETE | ``store/objects/KEY`` | always 403 (see above) |
| GET | ``store/list?prefix=P`` | ``{"objects": [[key, size, mtime], ...]}`` (logs excluded) |
| GET | ``store/logs/KEY?offset=N`` | the log's bytes from N on |
| POST | ``store/logs/KEY?offset=N`` | append the body at N: ``{"size": new size}`` (see below) |
| POST | ``store/sync/KEY`` | make the log durable; 204 |
| GET | ``store/log-size/KEY`` | ``{"size": N}`` |
| GET | ``store/log-sizes?prefix=runs`` | ``{"sizes": {key: size}}`` |
| GET | ``store/temp-leftovers?older_than=T`` | ``{"keys": [...]}`` |
| GET | ``store/writer/KEY`` | ``{"writer": {"name", "basis", "display"} or null}``: who wrote KEY |
| GET | ``store/whoami`` | ``{"name", "basis", "display"}``: the caller, as stamps name them |

An append skips the bytes the log already holds at N when they match (a retried append), and is
refused with 409 when they differ or N is past the end. Keys are confined to the store's layout
(``runs/``, ``notes/``, ``blobs/``, ``packs/``, ``data/``, ``models/``, ``aliases/``, the marker); a
blob or a pack must hash to its key. Nothing is deleted over HTTP (``nbtrack gc`` runs where the
store lives: unlisted packs and unreferenced blobs stay until then).
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbtrack.server.attribution import request_writer
from nbtrack.server.handlers import NBTrackHandler
from nbtrack.store.attribution import read_stamp, sign_annotation, sign_sweep_event, stamped_writer, write_stamp
from nbtrack.store.backend import Backend, Writer
from nbtrack.store.keys import RUNS, is_layout_prefix, kind_of, pack_of, run_of
from nbtrack.store.local import LinkRefused

KEY = r"(?P<key>.+)"
NAMED = ("data-version", "model-version", "alias")  # numbered, write-once records
PACKS = ("pack-entry", "pack")  # write-once pack list entries, content-addressed packs
READABLE = ("marker", "stamp", "note", "blob", "sweep", *PACKS, *NAMED)
WRITABLE = ("marker", "note", "blob", "sweep", *PACKS, *NAMED)  # sweep: write-once sweep events
NO_DELETES = ("the team store never deletes anything over HTTP (a blob may still be referenced by a run "
              "the client cannot see): run `nbtrack gc` where the store lives, e.g. "
              "`nbtrack --store FOLDER gc` on the server's machine")


class LogConflict(Exception):
    """An append that does not continue the log (a second writer, or a lost segment)."""


class NotCreator(PermissionError):
    """An append to a run by someone other than its creator."""


class TooLarge(ValueError):
    """An object or a log past the server's limits."""


class _Appender:
    """Serialises appends per log and remembers each log's size and creator (this server writes them)."""

    def __init__(self) -> None:
        self.locks: dict[str, threading.Lock] = {}
        self.sizes: dict[str, int] = {}
        self.creators: dict[str, Writer] = {}
        self.guard = threading.Lock()

    def append_at(self, backend: Backend, key: str, offset: int, data: bytes, writer: Writer,
                  max_log: int) -> int:
        with self.guard:
            lock = self.locks.setdefault(key, threading.Lock())
        with lock:
            size = self.sizes.get(key)
            if size is None:
                size = len(backend.read_log(key))
            self._check_creator(backend, key, size, writer)
            if offset > size:
                raise LogConflict(f"append at {offset} but the log {key} holds {size} bytes")
            if offset + len(data) > max_log:
                raise TooLarge(f"the log {key} would pass this server's limit of {max_log} bytes "
                               "(c.NBTrack.max_log_bytes)")
            overlap = min(size - offset, len(data))
            if overlap and backend.read_log(key, offset)[:overlap] != data[:overlap]:
                raise LogConflict(f"the log {key} already holds other bytes at {offset}")
            rest = data[overlap:]
            if rest:
                backend.append(key, rest)
            self.sizes[key] = size = max(size, offset + len(data))
            return size

    def _check_creator(self, backend: Backend, key: str, size: int, writer: Writer) -> None:
        run_id = run_of(key)
        creator = self.creators.get(key) or read_stamp(backend, run_id)
        if creator is None:
            if size:
                raise NotCreator(f"run {run_id} was not created through this server (it has no creator stamp): "
                                 "appends to it are refused")
            creator = write_stamp(backend, run_id, writer)
        self.creators[key] = creator
        if creator.name != writer.name:
            raise NotCreator(f"run {run_id} was created by {creator.display or creator.name}: only its creator "
                             "appends to it")


_APPENDERS: weakref.WeakKeyDictionary[Backend, _Appender] = weakref.WeakKeyDictionary()
_APPENDERS_LOCK = threading.Lock()


def _appender(backend: Backend) -> _Appender:
    with _APPENDERS_LOCK:
        found = _APPENDERS.get(backend)
        if found is None:
            found = _APPENDERS[backend] = _Appender()
        return found


def _checked(key: str, kinds: tuple[str, ...]) -> str:
    """`key` when it is a key of the layout of one of `kinds`; else 400."""
    kind = kind_of(key)
    if kind is None:
        raise web.HTTPError(400, f"{key[:200]!r} is not a key of the store layout")
    if kind not in kinds:
        raise web.HTTPError(400, f"{key[:200]!r} is a {kind} key; this route takes {' or '.join(kinds)} keys")
    return key


def _verify_blob(key: str, data: bytes) -> None:
    """Content-addressed keys (blobs, packs) must name the hash of their bytes."""
    pack = pack_of(key)
    expected = pack[1] if pack else key.rsplit("/", 1)[-1] if kind_of(key) == "blob" else None
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise web.HTTPError(400, f"the bytes sent for {key} do not hash to its name")


def _writer_json(writer: Writer | None) -> dict[str, str] | None:
    return None if writer is None else {"name": writer.name, "basis": writer.basis, "display": writer.display}


class StoreHandler(NBTrackHandler):
    @property
    def backend(self) -> Backend:
        return self.nbtrack.open_store().backend

    @property
    def writer(self) -> Writer:
        """The authenticated user, as stamps and annotations name them."""
        return request_writer(self.current_user)

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
        except (NotCreator, LinkRefused) as exc:
            raise web.HTTPError(403, str(exc)) from exc
        except TooLarge as exc:
            raise web.HTTPError(413, str(exc)) from exc


@web.stream_request_body
class _BodyHandler(StoreHandler):
    """Routes that take a body: it is refused (413) past ``c.NBTrack.max_object_bytes`` as it
    arrives, never read whole first, and only from an authenticated user."""

    _chunks: list[bytes]
    _received = 0

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        self._chunks, self._received = [], 0
        if self.request.method not in ("PUT", "POST"):
            return
        if self.current_user is None:
            raise web.HTTPError(403)
        limit = int(self.nbtrack.max_object_bytes)
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise web.HTTPError(413, f"{length} bytes is more than this server takes in one object or append "
                                     f"({limit} bytes, c.NBTrack.max_object_bytes)")
        if self.request.connection is not None:
            self.request.connection.set_max_body_size(limit + 1)  # type: ignore[attr-defined]

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= self.nbtrack.max_object_bytes:  # (past it, the method answers 413)
            self._chunks.append(chunk)

    @property
    def body(self) -> bytes:
        if self._received > self.nbtrack.max_object_bytes:
            raise web.HTTPError(413, f"more than {self.nbtrack.max_object_bytes} bytes (c.NBTrack.max_object_bytes)")
        return b"".join(self._chunks)


class ObjectHandler(_BodyHandler):
    @web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        self.reply_bytes(await self.guarded(self.backend.read, _checked(key, READABLE)))

    @web.authenticated
    @authorized
    async def put(self, key: str) -> None:
        data = self.body
        kind = kind_of(_checked(key, WRITABLE))
        _verify_blob(key, data)
        sign = {"note": sign_annotation, "sweep": sign_sweep_event}.get(str(kind))
        if sign is not None:
            try:
                data = sign(data, self.writer)
            except ValueError as exc:
                raise web.HTTPError(400, f"{key}: {exc}") from None
        created = await self.guarded(self.backend.write_once, key, data)
        self.reply({"created": created}, status=201 if created else 200)

    @web.authenticated
    @authorized
    async def delete(self, key: str) -> None:
        raise web.HTTPError(403, NO_DELETES)


class ExistsHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        self.reply({"exists": await self.guarded(self.backend.exists, _checked(key, (*READABLE, "log")))})


class ListHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        prefix = self.get_query_argument("prefix", "")
        if not is_layout_prefix(prefix):
            raise web.HTTPError(400, f"{prefix[:200]!r} is not a folder of the store layout")
        found = await self.guarded(
            lambda: [[i.key, i.size, i.mtime] for i in self.backend.list(prefix) if kind_of(i.key) is not None])
        self.reply({"objects": found})


class LogHandler(_BodyHandler):
    @web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        offset = self.int_arg("offset", 0) or 0
        self.reply_bytes(await self.guarded(self.backend.read_log, _checked(key, ("log",)), offset))

    @web.authenticated
    @authorized
    async def post(self, key: str) -> None:
        offset = self.int_arg("offset", None)
        if offset is None:
            raise web.HTTPError(400, "the query parameter 'offset' is required")
        backend = self.backend
        size = await self.guarded(_appender(backend).append_at, backend, _checked(key, ("log",)), offset, self.body,
                                  self.writer, int(self.nbtrack.max_log_bytes))
        self.reply({"size": size})


class SyncHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def post(self, key: str) -> None:
        await self.guarded(self.backend.sync, _checked(key, ("log",)))
        self.set_status(204)
        self.finish()


class LogSizeHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        backend = self.backend
        data = await self.guarded(backend.read_log, _checked(key, ("log",)))
        self.reply({"size": len(data)})


class LogSizesHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        prefix = self.get_query_argument("prefix", RUNS)
        if prefix.strip("/") != RUNS:
            raise web.HTTPError(400, f"logs live under {RUNS!r}, not {prefix[:200]!r}")
        sizes = await self.guarded(self.backend.log_sizes, RUNS)
        self.reply({"sizes": {k: v for k, v in sizes.items() if kind_of(k) == "log"}})


class TempLeftoversHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        older_than = self.float_arg("older_than", 0.0)
        self.reply({"keys": await self.guarded(self.backend.temp_leftovers, older_than)})


class WriterHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        writer = await self.guarded(stamped_writer, self.backend, _checked(key, ("log", "note", "blob")))
        self.reply({"writer": _writer_json(writer)})


class WhoAmIHandler(StoreHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(_writer_json(self.writer))


HANDLERS: list[tuple[str, type]] = [
    (rf"store/objects/{KEY}", ObjectHandler),
    (rf"store/exists/{KEY}", ExistsHandler),
    (r"store/list/?", ListHandler),
    (rf"store/logs/{KEY}", LogHandler),
    (rf"store/sync/{KEY}", SyncHandler),
    (rf"store/log-size/{KEY}", LogSizeHandler),
    (r"store/log-sizes/?", LogSizesHandler),
    (r"store/temp-leftovers/?", TempLeftoversHandler),
    (rf"store/writer/{KEY}", WriterHandler),
    (r"store/whoami/?", WhoAmIHandler),
]
