"""Data fingerprints: a content hash of a file or a folder, fast to recompute.

A folder's fingerprint is the sha256 of its sorted file list (relative path, size, content
hash). File hashes are cached on this machine by (path, size, mtime, inode), so fingerprinting an
unchanged 10 GB dataset again costs one ``stat`` per file.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

_CHUNK = 1 << 20


@dataclass
class Fingerprint:
    path: str
    sha256: str
    files: int
    bytes: int
    listing: dict[str, tuple[int, str]] = field(default_factory=dict)  # relpath -> (size, sha)

    def as_record(self) -> dict[str, object]:
        return {"path": self.path, "sha256": self.sha256, "files": self.files, "bytes": self.bytes}


class HashCache:
    """sha256 of files keyed by (path, size, mtime_ns, inode), in a small SQLite file."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
                self._db.execute("PRAGMA synchronous=OFF")  # a cache: losing an entry costs one re-hash
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INT, mtime INT, ino INT, sha TEXT)"
                )
            except sqlite3.Error:
                self._db = None

    def sha256(self, path: Path, st: os.stat_result) -> str:
        sha = self.cached(path, st)
        if sha is None:
            sha = hash_file(path)
            self.remember(path, st, sha)
        return sha

    def cached(self, path: Path, st: os.stat_result) -> str | None:
        """The file's sha256 when this cache saw it with the same size, mtime and inode."""
        with self._lock:
            if self._db is not None:
                query = "SELECT size, mtime, ino, sha FROM files WHERE path = ?"
                row = self._db.execute(query, (str(path),)).fetchone()
                if row and tuple(row[:3]) == (st.st_size, st.st_mtime_ns, st.st_ino):
                    return str(row[3])
        return None

    def remember(self, path: Path, st: os.stat_result, sha: str, commit: bool = True) -> None:
        """Keep `sha` as the hash of `path` as it was when stat'ed as `st` (with `commit=False`,
        kept with the next commit: one transaction for a whole folder)."""
        with self._lock:
            if self._db is not None:
                try:
                    self._db.execute(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                        (str(path), st.st_size, st.st_mtime_ns, st.st_ino, sha),
                    )
                    if commit:
                        self._db.commit()
                except sqlite3.Error:
                    pass

    def commit(self) -> None:
        with self._lock:
            if self._db is not None:
                try:
                    self._db.commit()
                except sqlite3.Error:
                    pass


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path: str | os.PathLike[str], cache: HashCache | None = None) -> Fingerprint:
    """Fingerprint a file or a folder (recursively; hidden files included, symlinks followed)."""
    root = Path(path).expanduser().resolve()
    cache = cache or HashCache(None)
    if root.is_file():
        st = root.stat()
        sha = cache.sha256(root, st)
        return Fingerprint(str(root), sha, 1, st.st_size, {root.name: (st.st_size, sha)})
    if not root.is_dir():
        raise FileNotFoundError(f"no file or folder at {root}")
    listing: dict[str, tuple[int, str]] = {}
    for dirpath, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            full = Path(dirpath) / name
            st = full.stat()
            listing[full.relative_to(root).as_posix()] = (st.st_size, cache.sha256(full, st))
    digest = hashlib.sha256()
    for rel in sorted(listing):
        size, sha = listing[rel]
        digest.update(f"{rel}\0{size}\0{sha}\n".encode())
    total = sum(size for size, _ in listing.values())
    return Fingerprint(str(root), digest.hexdigest(), len(listing), total, listing)
