"""The content of a file or folder as content-defined chunks: pure logic, no store.

A file is cut into chunks where its bytes say so (FastCDC, from the ``pyfastcdc`` package:
``pip install 'nbtrack[data]'``), not at fixed offsets, so an edit in the middle of a large file
changes only the chunks around it and a new version stores about as many new bytes as changed.
Each chunk is named by its sha256, like any blob.

A `ContentManifest` lists every file (relative path, size, sha256 of the whole file, its chunks)
and the tree's sha256, computed exactly as ``core.fingerprint`` computes a folder's (so a stored
version and a fresh fingerprint of the same data agree). `read_chunks` streams a file through
the chunker with a bounded buffer: a 1 GB file is never in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "nbtrack-content/1"
AVG_CHUNK = 256 * 1024  # FastCDC's target; chunks fall between AVG/4 and 4 * AVG
FILE, FOLDER = "file", "folder"


@dataclass
class FileEntry:
    path: str  # relative to the tracked folder, ``/``-separated (the file's name for a file)
    size: int
    sha256: str
    chunks: list[tuple[str, int]] = field(default_factory=list)  # (sha256, length) in order

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256,
                "chunks": [[sha, length] for sha, length in self.chunks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileEntry:
        return cls(str(data["path"]), int(data["size"]), str(data["sha256"]),
                   [(str(sha), int(length)) for sha, length in data.get("chunks") or []])


@dataclass
class ContentManifest:
    kind: str  # FILE or FOLDER
    files: list[FileEntry]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def sha256(self) -> str:
        """The tree's hash: ``core.fingerprint``'s for the same file or folder."""
        if self.kind == FILE and len(self.files) == 1:
            return self.files[0].sha256
        return tree_sha256((f.path, f.size, f.sha256) for f in self.files)

    def chunk_shas(self) -> set[str]:
        return {sha for f in self.files for sha, _length in f.chunks}

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "kind": self.kind, "sha256": self.sha256, "bytes": self.bytes,
                "files": [f.to_json() for f in sorted(self.files, key=lambda f: f.path)]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContentManifest:
        """The manifest, refusing one whose paths could leave the folder it is written to."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a content manifest (format {data.get('format')!r})")
        manifest = cls(str(data["kind"]), [FileEntry.from_json(f) for f in data["files"]])
        for entry in manifest.files:
            parts = entry.path.split("/")
            if any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts) or (
                    manifest.kind != FOLDER and len(parts) != 1):
                raise ValueError(f"unsafe path {entry.path!r} in a content manifest")
        return manifest


def tree_sha256(entries: Any) -> str:
    """sha256 of sorted (relative path, size, sha256) lines: a folder's fingerprint."""
    digest = hashlib.sha256()
    for rel, size, sha in sorted(entries):
        digest.update(f"{rel}\0{size}\0{sha}\n".encode())
    return digest.hexdigest()


def chunk_refs(manifest: dict[str, Any]) -> set[str]:
    """The chunk hashes a content manifest (as stored JSON) refers to."""
    return {str(chunk[0]) for entry in manifest.get("files") or [] for chunk in entry.get("chunks") or []}


def walk(root: Path) -> tuple[str, list[tuple[str, Path]]]:
    """(kind, [(relative path, full path)]) of a file or a folder (hidden files included,
    symlinks followed, sorted as ``core.fingerprint`` walks)."""
    if root.is_file():
        return FILE, [(root.name, root)]
    if not root.is_dir():
        raise FileNotFoundError(f"no file or folder at {root}")
    found = []
    for dirpath, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            full = Path(dirpath) / name
            found.append((full.relative_to(root).as_posix(), full))
    return FOLDER, found


def _chunker(avg: int) -> Any:
    try:
        from pyfastcdc import FastCDC
    except ImportError as exc:  # pragma: no cover - the optional extra is missing
        raise ImportError("storing data versions needs pyfastcdc: pip install 'nbtrack[data]'") from exc
    return FastCDC(avg)


def read_chunks(path: Path, avg: int = AVG_CHUNK) -> Iterator[memoryview]:
    """The file's content-defined chunks, streamed (each view is valid until the next one)."""
    chunker = _chunker(avg)
    with open(path, "rb", buffering=0) as fh:
        for chunk in chunker.cut_stream(fh):
            yield chunk.data
