"""Files and folders kept in a store as content-defined chunks (``nbtrack.core.content``).

`put_tree` streams every file of a folder through the chunker once, hashing the whole file and
each chunk, and writes the chunks the store lacks as blobs (``blobs/<aa>/<sha256>``) from a
small pool of threads, with at most a few chunks in flight: memory stays bounded whatever the
file size. Chunks of an earlier manifest are known to be present (no existence check), and a
file unchanged since an earlier version (same size, mtime and inode in this machine's file-hash
cache) is not read at all: its chunk list is reused. The manifest itself is a blob.

`materialise` writes a manifest back out: each file to a temporary name beside its target,
chunks fetched a few at a time and verified against their hashes, the whole file's hash checked,
then renamed into place; so the bytes are the ones stored, or nothing.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from nbtrack.core.content import ContentManifest, FileEntry, read_chunks, walk
from nbtrack.core.fingerprint import HashCache
from nbtrack.store.keys import blob_key
from nbtrack.store.store import BlobCorrupt, Store

WORKERS = 16  # chunk writes/reads in flight (fsync latency locally, round trips remotely overlap)


@dataclass
class Stored:
    manifest: ContentManifest
    sha: str  # the manifest blob
    new_bytes: int  # bytes of chunks written now (the rest was in the store already)
    new_chunks: int


class _Uploader:
    """Writes chunks the store lacks, a bounded number at a time, counting what was new."""

    def __init__(self, store: Store, known: set[str]) -> None:
        self.store = store
        self.known = known  # chunk hashes present in the store (grows as chunks are written)
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="nbtrack-chunks")
        self.pending: deque[Future[int]] = deque()
        self.lock = threading.Lock()
        self.new_bytes = self.new_chunks = 0

    def put(self, sha: str, data: bytes) -> None:
        if sha in self.known:
            return
        self.known.add(sha)
        while len(self.pending) >= 2 * WORKERS:
            self.pending.popleft().result()
        self.pending.append(self.pool.submit(self._write, sha, data))

    def _write(self, sha: str, data: bytes) -> int:
        key = blob_key(sha)
        backend = self.store.backend
        if backend.exists(key) or not backend.write_once(key, data):
            return 0
        with self.lock:
            self.new_bytes += len(data)
            self.new_chunks += 1
        return len(data)

    def close(self) -> None:
        try:
            while self.pending:
                self.pending.popleft().result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _chunk_file(path: Path, uploader: _Uploader) -> tuple[str, int, list[tuple[str, int]]]:
    whole = hashlib.sha256()
    chunks: list[tuple[str, int]] = []
    size = 0
    for view in read_chunks(path):
        whole.update(view)
        sha = hashlib.sha256(view).hexdigest()
        chunks.append((sha, len(view)))
        size += len(view)
        if sha not in uploader.known:
            uploader.put(sha, bytes(view))
    return whole.hexdigest(), size, chunks


def put_tree(store: Store, path: str | os.PathLike[str], cache: HashCache | None = None,
             previous: Iterable[ContentManifest] = ()) -> Stored:
    """Store the content of the file or folder at `path`; `previous` manifests (of earlier
    versions) tell which chunks the store has and which unchanged files need no reading."""
    root = Path(path).expanduser().resolve()
    kind, files = walk(root)
    by_sha: dict[str, FileEntry] = {}
    known: set[str] = set()
    for manifest in previous:
        for entry in manifest.files:
            by_sha.setdefault(entry.sha256, entry)
            known.update(sha for sha, _length in entry.chunks)
    uploader = _Uploader(store, known)
    entries = []
    try:
        for rel, full in files:
            st = full.stat()
            cached = cache.cached(full, st) if cache is not None else None
            earlier = by_sha.get(cached) if cached else None
            if earlier is not None and earlier.size == st.st_size:
                entries.append(FileEntry(rel, earlier.size, earlier.sha256, list(earlier.chunks)))
                continue
            sha, size, chunks = _chunk_file(full, uploader)
            if cache is not None and full.stat().st_mtime_ns == st.st_mtime_ns and size == st.st_size:
                cache.remember(full, st, sha, commit=False)  # unchanged while read: the next version skips it
            entries.append(FileEntry(rel, size, sha, chunks))
    finally:
        uploader.close()
        if cache is not None:
            cache.commit()
    manifest = ContentManifest(kind, entries)
    return Stored(manifest, store.put_json(manifest.to_json()), uploader.new_bytes, uploader.new_chunks)


def load_manifest(store: Store, sha: str) -> ContentManifest:
    return ContentManifest.from_json(store.get_json(sha))


def materialise(store: Store, manifest: ContentManifest, target: str | os.PathLike[str]) -> Path:
    """Write the manifest's files out: a file's content at `target` (a file manifest), or the
    folder's files under `target`. Returns `target`. Existing files there are replaced."""
    target = Path(target)
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="nbtrack-chunks") as pool:
        if manifest.kind != "folder":
            entry = manifest.files[0]
            _write_file(store, pool, entry, target)
        else:
            target.mkdir(parents=True, exist_ok=True)
            for entry in manifest.files:  # paths checked when the manifest was read (``from_json``)
                _write_file(store, pool, entry, target.joinpath(*entry.path.split("/")))
    return target


def _write_file(store: Store, pool: ThreadPoolExecutor, entry: FileEntry, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.nbtrack-{uuid.uuid4().hex[:8]}")
    whole = hashlib.sha256()
    window: deque[Future[bytes]] = deque()
    todo = iter(entry.chunks)
    try:
        with open(temp, "wb") as fh:
            for sha, _length in todo:
                window.append(pool.submit(store.get_blob, sha))
                if len(window) >= WORKERS:
                    break
            while window:
                data = window.popleft().result()
                fh.write(data)
                whole.update(data)
                following = next(todo, None)
                if following is not None:
                    window.append(pool.submit(store.get_blob, following[0]))
        if whole.hexdigest() != entry.sha256:
            raise BlobCorrupt(f"{entry.path}: the stored chunks do not add up to the recorded content")
        os.replace(temp, target)
    finally:
        for future in window:
            future.cancel()
        temp.unlink(missing_ok=True)
