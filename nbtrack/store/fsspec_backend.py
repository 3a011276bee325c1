"""Object stores (``s3://``, ``gs://``, ``memory://``, any fsspec filesystem) as a store backend.

Buckets have no append and no atomic rename, so:

* **Logs are immutable segments.** Each ``append`` to the log ``runs/<id>/log`` is one new
  object ``runs/<id>/log/<start offset, 20 digits>`` holding exactly the appended bytes. The run's
  one writer knows its next offset (it asks the bucket once, on its first append, in case the
  log already exists), so segment names never collide. A reader lists the segments once and
  concatenates the contiguous chain from offset 0; ``read_log(key, offset)`` fetches only the
  segments that end after `offset`, and ``log_sizes`` is one recursive listing. An index
  refresh lists once and then fetches the new segments of every changed run in concurrent
  batches (``prefetch_logs``), so syncing a fresh machine costs about one download of the logs. A PUT is durable
  when it returns, so ``sync`` has nothing to do. A retried append (the writer re-sends its
  unwritten bytes plus newer ones after a failure) re-uses the same start offset, so an earlier
  PUT that did land is replaced by a longer one with the same prefix: nothing is duplicated.
* **Write-once objects** (blobs, annotations, the store marker) are PUT with
  ``If-None-Match: *`` where the filesystem supports exclusive creation (S3 and compatible
  servers: ``mode="create"``), after a cheap existence check. Where it does not, the PUT is a
  plain overwrite after the check, and two writers racing on one key both succeed: harmless,
  because blob keys are content hashes (both write the same bytes) and annotation keys are
  fresh unique ids. No temporary objects are used, so ``temp_leftovers`` is always empty.

Storage options come from the URL query (``s3://bucket/team?endpoint_url=http://127.0.0.1:9000``)
or from the environment as usual for the filesystem (``AWS_ACCESS_KEY_ID``...). Credentials in
the query work but are never kept: ``url`` (which names the store in the index and anywhere else)
has them removed.
"""

from __future__ import annotations

import builtins
import inspect
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from nbtrack.core.redact import redact_url
from nbtrack.store.backend import Backend, ObjectInfo
from nbtrack.store.keys import LOG_NAME

try:
    import fsspec
except ImportError as exc:  # pragma: no cover - the optional extra is missing
    raise ImportError("bucket stores need fsspec: pip install 'nbtrack[s3]' (or [gcs])") from exc

OFFSET_DIGITS = 20
FETCH_CONNECTIONS = 64  # requests to an S3 bucket in flight at once, at most
CONNECT_SECONDS, READ_SECONDS = 10.0, 60.0  # a bucket that answers nothing within these is retried
REUSE_SECONDS = 300.0  # a refresh's listing serves that refresh's prefetches; prefetched bytes one read


def segment_name(offset: int) -> str:
    return f"{offset:0{OFFSET_DIGITS}d}"


def _is_segment(rel: str) -> bool:
    parts = rel.rsplit("/", 2)
    return len(parts) == 3 and parts[1] == LOG_NAME and len(parts[2]) == OFFSET_DIGITS and parts[2].isdigit()


def _option(value: str) -> Any:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return value


def _mtime(info: dict[str, Any]) -> float:
    for name in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(name)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return 0.0


def _chain(segments: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The contiguous run of (start, size, path) segments from offset 0, up to the first gap
    (a segment still being written, or lost: nothing after it is trusted)."""
    chain, end = [], 0
    for start, size, path in sorted(segments):
        if start < end:  # cannot happen with offset names; kept as a guard
            continue
        if start > end:
            break
        chain.append((start, size, path))
        end = start + size
    return chain


class FsspecBackend(Backend):
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options: dict[str, Any] = {k: _option(v) for k, v in parse_qsl(parts.query)}
        options.setdefault("use_listings_cache", False)  # other writers change the bucket
        # a stalled connection must fail and retry, never hang
        if parts.scheme in ("s3", "s3a"):  # a refresh fetches hundreds of log segments at once: more
            # than botocore's 10 connections
            options.setdefault("config_kwargs", {"connect_timeout": CONNECT_SECONDS, "read_timeout": READ_SECONDS,
                                                 "retries": {"max_attempts": 5, "mode": "standard"},
                                                 "max_pool_connections": FETCH_CONNECTIONS})
        elif parts.scheme in ("gs", "gcs") and "requests_timeout" not in options:
            import aiohttp  # gcsfs's HTTP client; its own default waits for ever on a silent server

            # per socket operation, not in total (a large artifact may take longer than a minute);
            # gcsfs retries a request whose read timed out
            options["requests_timeout"] = aiohttp.ClientTimeout(sock_connect=CONNECT_SECONDS, sock_read=READ_SECONDS)
        base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.fs, root = fsspec.core.url_to_fs(base, **options)
        self.root = root.rstrip("/")
        self.url = redact_url(url).rstrip("/")
        self._exclusive = True  # conditional PUT supported, until the filesystem says no
        # s3fs asks each object's size (a HEAD request) before its GET, to fetch a large one in
        # concurrent parts, unless told to fetch it in one piece: segments are small, one GET each
        reads = inspect.signature(getattr(self.fs, "_cat_file", None) or self.fs.cat_file).parameters
        self._one_piece = {"max_concurrency": 1} if "max_concurrency" in reads else {}
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()
        # the last log_sizes listing (for prefetches) and the last prefetch (one read per log)
        self._listed: dict[str, list[tuple[int, int, str]]] = {}
        self._fetched: dict[str, tuple[int, bytes]] = {}
        self._listed_at = self._fetched_at = 0.0

    def _path(self, key: str) -> str:
        parts = key.split("/")
        if any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            raise ValueError(f"invalid store key {key!r}")
        return f"{self.root}/{key}"

    def _rel(self, path: str) -> str:
        path = self.fs._strip_protocol(path)
        root = self.fs._strip_protocol(self.root)
        return path[len(root):].lstrip("/")

    def _find(self, prefix: str) -> dict[str, dict[str, Any]]:
        base = self._path(prefix.strip("/")) if prefix.strip("/") else self.root
        try:
            return {self._rel(path): info for path, info in self.fs.find(base, detail=True).items()}
        except FileNotFoundError:
            return {}

    # write-once objects
    def write_once(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        if self.fs.exists(path):
            return False
        if self._exclusive:
            try:
                self.fs.pipe_file(path, data, mode="create")
                return True
            except FileExistsError:
                return False
            except Exception:  # no exclusive create on this filesystem or server (501, TypeError)?
                self.fs.pipe_file(path, data)  # if a plain PUT works, it was the condition
                self._exclusive = False  # from now on: check-then-put (see the module docstring)
                return True
        self.fs.pipe_file(path, data)
        return True

    def read(self, key: str) -> bytes:
        return bytes(self.fs.cat_file(self._path(key)))

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        for rel, info in self._find(prefix).items():
            if info.get("type", "file") != "file" or _is_segment(rel):
                continue
            yield ObjectInfo(rel, int(info.get("size") or 0), _mtime(info))

    def delete(self, key: str) -> None:
        try:
            self.fs.rm_file(self._path(key))
        except FileNotFoundError:
            pass

    def temp_leftovers(self, older_than: float) -> builtins.list[str]:
        return []  # objects appear whole or not at all: no temporary names are ever used

    # append-only logs, as immutable segments
    def _segments(self, key: str) -> builtins.list[tuple[int, int, str]]:
        """The contiguous chain of segments from offset 0, listed now: (start, size, path) each."""
        found = []
        for rel, info in self._find(key).items():
            if _is_segment(rel) and rel.rsplit("/", 1)[0] == key:
                found.append((int(rel.rsplit("/", 1)[1]), int(info.get("size") or 0), self._path(rel)))
        return _chain(found)

    def append(self, key: str, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            offset = self._next.get(key)
        if offset is None:  # the log's end, listed now (never from a cached listing)
            offset = sum(size for _start, size, _path in self._segments(key))
        self.fs.pipe_file(self._path(f"{key}/{segment_name(offset)}"), bytes(data))
        with self._lock:
            self._next[key] = offset + len(data)

    def sync(self, key: str) -> None:
        """Nothing to do: every segment was durable when its PUT returned."""

    def read_log(self, key: str, offset: int = 0) -> bytes:
        with self._lock:
            fetched = self._fetched.pop(key, None)
            recent = time.monotonic() - self._fetched_at < REUSE_SECONDS
        if fetched is not None and fetched[0] == offset and recent:
            return fetched[1]
        return self._fetch({key: offset}).get(key, b"")

    def prefetch_logs(self, offsets: dict[str, int]) -> None:
        """Fetch the segments of every log in `offsets` in one concurrent batch, using the chains
        the last ``log_sizes`` listed (the index lists, then prefetches what changed in that
        listing, batch by batch; an older listing only means a shorter prefix of an append-only
        log, and each prefetched log serves one read)."""
        with self._lock:
            stale = time.monotonic() - self._listed_at >= REUSE_SECONDS
        if stale and len(offsets) > 8:  # one listing beats a listing per log
            for prefix in {key.split("/", 1)[0] for key in offsets}:
                self.log_sizes(prefix)
            stale = False
        with self._lock:
            listed = {} if stale else {key: self._listed[key] for key in offsets if key in self._listed}
        found = self._fetch(offsets, listed)
        with self._lock:
            self._fetched = {key: (offsets[key], data) for key, data in found.items()}
            self._fetched_at = time.monotonic()

    def _fetch(
        self, offsets: dict[str, int], listed: dict[str, builtins.list[tuple[int, int, str]]] | None = None
    ) -> dict[str, bytes]:
        """Each log's bytes from its offset on, all segments fetched concurrently."""
        chains = {key: (listed or {}).get(key) or self._segments(key) for key in offsets}
        wanted = {key: [seg for seg in chains[key] if seg[0] + seg[1] > offset] for key, offset in offsets.items()}
        paths = [path for chain in wanted.values() for _s, _n, path in chain]
        contents = self.fs.cat(paths, on_error="return", **self._one_piece) if paths else {}
        if len(paths) == 1 and not isinstance(contents, dict):
            contents = {paths[0]: contents}
        found = {}
        for key, chain in wanted.items():
            pieces = []
            for start, _size, path in chain:
                piece = contents.get(path)
                if not isinstance(piece, (bytes, bytearray)):
                    break  # vanished after the listing: stop at the last readable byte
                pieces.append(bytes(piece[max(offsets[key] - start, 0):]))
            found[key] = b"".join(pieces)
        return found

    def log_sizes(self, prefix: str) -> dict[str, int]:
        prefix = prefix.strip("/")
        return self._log_chains(prefix, ((rel, int(info.get("size") or 0)) for rel, info in self._find(prefix).items()))

    def log_size(self, key: str) -> int | None:
        """One listing of this log's segments (not of every log)."""
        chain = self._segments(key)
        return sum(size for _start, size, _path in chain) if chain else None

    def log_sizes_after(self, prefix: str, after: str) -> dict[str, int] | None:
        """One S3 listing from ``<prefix>/<after>/`` on (``StartAfter``): the logs of the runs
        whose names sort after `after`. Other filesystems list everything (None)."""
        if not hasattr(self.fs, "_call_s3"):
            return None
        from fsspec.asyn import sync

        prefix = prefix.strip("/")
        bucket, _, base = self.root.partition("/")
        head = f"{base}/" if base else ""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": f"{head}{prefix}/",
                                  "StartAfter": f"{head}{prefix}/{after}/~"}  # ("~" sorts after "log")
        found: list[tuple[str, int]] = []
        while True:
            page = sync(self.fs.loop, self.fs._call_s3, "list_objects_v2", **kwargs)
            found += [(item["Key"][len(head):], int(item.get("Size") or 0)) for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
        return self._log_chains(prefix, found)

    def _log_chains(self, prefix: str, found: Iterable[tuple[str, int]]) -> dict[str, int]:
        """The size of each log ``<prefix>/<name>/log`` among listed (key, size) pairs; their
        segment chains serve the prefetches that follow."""
        chains: dict[str, list[tuple[int, int, str]]] = {}
        for rel, size in found:
            if not _is_segment(rel):
                continue
            log = rel.rsplit("/", 1)[0]
            if log.count("/") != prefix.count("/") + 2:  # only <prefix>/<name>/log
                continue
            chains.setdefault(log, []).append((int(rel.rsplit("/", 1)[1]), size, self._path(rel)))
        listed = {log: _chain(segments) for log, segments in chains.items()}
        with self._lock:
            self._listed, self._listed_at = listed, time.monotonic()
        return {log: sum(size for _start, size, _path in chain) for log, chain in listed.items()}

