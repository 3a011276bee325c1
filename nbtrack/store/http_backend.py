"""A team store served over HTTP by a Jupyter server running nbtrack (``http(s)://`` URLs).

``https://host/nbtrack?token=...`` (or the server's own address, ``https://host/?token=...``;
``nbtrack`` is added) reaches the raw store primitives the server extension serves under
``<base_url>nbtrack/api/store/`` (see ``nbtrack.server.store_handlers``). The server keeps the
store (a folder or a bucket, whatever it serves); this client keeps only its machine-local index.

The token is taken from the URL's ``token`` parameter, else ``$NBTRACK_TOKEN``, and is sent in the
``Authorization`` header, never in a request URL; ``url`` is the address without it, so it never
reaches the index, a record or a message.

Appends carry the offset they start at: the server appends only what it does not have yet, so a
retried append (after a lost answer) never duplicates bytes, and a second writer of one log is
refused (409) instead of interleaving. Idempotent requests are retried once on a dropped
keep-alive connection.

The server binds every write to the identity it authenticated: with one token per person (an
identity provider, JupyterHub) that is the person; with a server's single shared token it is
this client's session (the login cookie the server hands back is kept for the backend's life),
so a run is appended to only by the process that created it. Nothing is deleted over HTTP.
"""

from __future__ import annotations

import builtins
import http.client
import http.cookies
import json
import os
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from nbtrack.core.redact import redact_url
from nbtrack.store.backend import Backend, ObjectInfo, Writer

ENV_TOKEN = "NBTRACK_TOKEN"
API_PATH = "api/store"
TIMEOUT = 60.0


class StoreRequestError(OSError):
    """The store server answered with an error."""


class HttpBackend(Backend):
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self._token = query.get("token") or os.environ.get(ENV_TOKEN) or ""
        path = parts.path.rstrip("/")
        if not path.endswith("/nbtrack"):
            path += "/nbtrack"
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc.rsplit("@", 1)[-1]
        self._api = f"{path}/{API_PATH}"
        self.url = redact_url(f"{parts.scheme}://{self._netloc}{path}")
        self._local = threading.local()
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()
        self._cookies: dict[str, str] = {}  # the server's login cookie: this client's session

    # transport
    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = self._local.conn = cls(self._netloc, timeout=TIMEOUT)
        return conn

    def _request(
        self, method: str, route: str, params: dict[str, Any] | None = None, body: bytes | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[int, bytes]:
        target = f"{self._api}/{route}" + (f"?{urlencode(params)}" if params else "")
        headers = {"Authorization": f"token {self._token}"} if self._token else {}
        with self._lock:
            if self._cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self._cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/octet-stream"
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt > 0)
            try:
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady) as exc:
                if attempt:  # a dropped keep-alive connection is retried once, then reported
                    raise ConnectionError(f"the nbtrack server at {self.url} dropped the connection: {exc}") from exc
            except OSError as exc:
                self._connection(fresh=True)
                raise ConnectionError(f"cannot reach the nbtrack server at {self.url}: {exc}") from exc
        self._keep_cookies(response)
        status = response.status
        if status in ok:
            return status, data
        message = _message(data) or response.reason
        if status in (401, 403) and message in ("", "Forbidden", "Unauthorized", response.reason):
            raise PermissionError(
                f"the nbtrack server at {self.url} refused the request ({status} {message}); "
                f"give its token as ?token=... in the store URL or in ${ENV_TOKEN}"
            )
        if status == 403:
            raise PermissionError(f"the nbtrack server at {self.url} refused {method} {route}: {message}")
        if status == 413:
            raise ValueError(f"the nbtrack server at {self.url} refused {route}: {message}")
        if status == 404:
            raise FileNotFoundError(f"{route}: not in the store at {self.url}")
        if status == 400:
            raise ValueError(f"the nbtrack server at {self.url} rejected {route}: {message}")
        raise StoreRequestError(f"{method} {route} at {self.url}: {status} {message}")

    def _keep_cookies(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
            try:
                jar.load(header)
            except http.cookies.CookieError:
                continue
            with self._lock:
                self._cookies.update({name: morsel.coded_value for name, morsel in jar.items()})

    def _json(self, route: str, params: dict[str, Any] | None = None) -> Any:
        return json.loads(self._request("GET", route, params)[1])

    # write-once objects
    def write_once(self, key: str, data: bytes) -> bool:
        status, _ = self._request("PUT", f"objects/{_quote(key)}", body=bytes(data), ok=(200, 201))
        return status == 201

    def read(self, key: str) -> bytes:
        return self._request("GET", f"objects/{_quote(key)}")[1]

    def exists(self, key: str) -> bool:
        return bool(self._json(f"exists/{_quote(key)}")["exists"])

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        for key, size, mtime in self._json("list", {"prefix": prefix})["objects"]:
            yield ObjectInfo(key, int(size), float(mtime))

    def delete(self, key: str) -> None:
        """Refused by the server (403): a team store is collected where it lives."""
        self._request("DELETE", f"objects/{_quote(key)}", ok=(204, 404))

    def writer(self, key: str) -> Writer | None:
        """Who wrote `key`, as the server attests it (its stamps; the file owner on its disk)."""
        found = self._json(f"writer/{_quote(key)}").get("writer")
        return None if not found else Writer(str(found["name"]), str(found["basis"]), str(found.get("display") or ""))

    def identity(self) -> Writer | None:
        """This client as the server authenticates it (and stamps what it writes)."""
        found = self._json("whoami")
        return Writer(str(found["name"]), str(found["basis"]), str(found.get("display") or ""))

    def temp_leftovers(self, older_than: float) -> builtins.list[str]:
        return list(self._json("temp-leftovers", {"older_than": older_than})["keys"])

    # append-only logs
    def append(self, key: str, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            offset = self._next.get(key)
        if offset is None:
            offset = int(self._json(f"log-size/{_quote(key)}")["size"])
        _, answer = self._request("POST", f"logs/{_quote(key)}", {"offset": offset}, body=bytes(data))
        with self._lock:
            self._next[key] = int(json.loads(answer)["size"])

    def sync(self, key: str) -> None:
        self._request("POST", f"sync/{_quote(key)}", body=b"", ok=(200, 204))

    def read_log(self, key: str, offset: int = 0) -> bytes:
        return self._request("GET", f"logs/{_quote(key)}", {"offset": offset}, ok=(200,))[1]

    def log_sizes(self, prefix: str) -> dict[str, int]:
        return {k: int(v) for k, v in self._json("log-sizes", {"prefix": prefix})["sizes"].items()}

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _quote(key: str) -> str:
    return quote(key, safe="/")


def _message(data: bytes) -> str:
    try:
        return str(json.loads(data).get("message", ""))
    except (ValueError, AttributeError):
        return data[:200].decode("utf-8", "replace")

