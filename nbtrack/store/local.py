"""The local-folder backend: the embedded default store, also right for a shared folder.

Write-once objects are written to a temporary name in the destination folder, fsynced, then
linked into place (``os.link`` fails if the key exists, so concurrent writers of the same blob
never clobber each other and an existing blob is success). Logs are files opened with
``O_APPEND``: each append is one ``write`` call, so a crash leaves at most one torn frame.

An append that fails midway (a full disk, a file size limit) leaves the log as it was: the bytes
that did land are cut off again (``ftruncate`` to the size before the append, at once, or before
the next append if that fails too), so the writer's retry of the same bytes duplicates nothing and
leaves no torn frame behind.

Symbolic links inside the store are never followed: reading or writing a key through one is
refused (`LinkRefused`), and listings skip them, so someone who can write the store's folder
cannot make it (or a team server serving it) read or write files elsewhere. The store's own
root may be a link (it is resolved once, when the store is opened). Who wrote a file is its
owner account (`writer`), which the file system attests.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from nbtrack.store.backend import FILE_OWNER, Backend, ObjectInfo, Writer
from nbtrack.store.keys import LOG_NAME

TEMP_PREFIX = ".tmp-"
SETTLED_SECONDS = 10.0  # a folder's modification time older than this is trusted to be final


DRIVE_NOT_MOUNTED = (
    "Google Drive is not mounted at {mount}: run `from google.colab import drive; "
    "drive.mount('{mount}')` first (nbtrack will not create the store {path} on the VM's own disk, "
    "which Colab deletes with the VM)"
)


def unmounted_drive(root: Path) -> str | None:
    """The reason not to create a store at `root` when it lies under a Colab Google Drive mount
    point (``.../content/drive/...``) that is not mounted, else None."""
    parts = root.parts
    for i in range(len(parts) - 2):
        if parts[i] == "content" and parts[i + 1] == "drive":
            mount = Path(*parts[: i + 2])
            if root.exists() or (mount / "MyDrive").is_dir() or (mount / "Shareddrives").is_dir():
                return None
            return DRIVE_NOT_MOUNTED.format(mount=mount, path=root)
    return None


class LinkRefused(PermissionError):
    """A key that passes through a symbolic link inside the store."""


def account_name(uid: int) -> str:
    """The OS account of `uid` (``uid 1234`` when it has no name here)."""
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def path_from_url(url: str) -> Path:
    if url.startswith("file://"):
        return Path(unquote(urlparse(url).path))
    return Path(url).expanduser()


class LocalBackend(Backend):
    def __init__(self, url: str) -> None:
        self.root = path_from_url(url).resolve()
        problem = unmounted_drive(self.root)
        if problem:
            raise FileNotFoundError(problem)
        self.url = self._root = str(self.root)
        self._fds: dict[str, int] = {}
        self._ends: dict[str, int] = {}  # each open log's size after its last complete append
        self._torn: set[str] = set()  # logs whose failed append could not be cut off yet

    def _path(self, key: str) -> Path:
        return Path(self._checked(key))

    def _checked(self, key: str) -> str:
        """The file name of `key` (a string: readers of many logs skip building paths), after
        checking that no part of it below the root is a symbolic link."""
        parts = key.split("/")
        if any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            raise ValueError(f"invalid store key {key!r}")
        current = self._root
        for part in parts:  # never through a symbolic link (lstat: the link itself)
            current = f"{current}{os.sep}{part}"
            try:
                mode = os.lstat(current).st_mode
            except (FileNotFoundError, NotADirectoryError):
                break
            if stat.S_ISLNK(mode):
                raise LinkRefused(f"{key}: {os.path.relpath(current, self._root)} is a symbolic link inside the "
                                  f"store {self.root}; nbtrack never follows one")
        return os.path.join(self._root, *parts)

    def write_once(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            with open(temp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temp, path)  # atomic, and refuses to replace an existing key
            except FileExistsError:
                return False
            except OSError:  # filesystems without hard links (some network/FUSE mounts)
                if path.exists():
                    return False
                os.replace(temp, path)
                return True
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def read(self, key: str) -> bytes:
        fd = os.open(self._checked(key), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith(TEMP_PREFIX) or name == LOG_NAME:
                    continue
                full = os.path.join(dirpath, name)
                try:
                    st = os.lstat(full)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):  # a symbolic link (or a device): not an object
                    continue
                yield ObjectInfo(Path(full).relative_to(self.root).as_posix(), st.st_size, st.st_mtime)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def temp_leftovers(self, older_than: float) -> builtins.list[str]:
        found = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                full = os.path.join(dirpath, name)
                if name.startswith(TEMP_PREFIX) and os.stat(full).st_mtime < older_than:
                    found.append(Path(full).relative_to(self.root).as_posix())
        return found

    def append(self, key: str, data: bytes) -> None:
        fd = self._fds.get(key)
        if fd is None:
            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            fd = self._fds[key] = os.open(path, flags, 0o644)
            self._ends[key] = os.fstat(fd).st_size
        end = self._ends[key]
        if key in self._torn:
            self._cut(key, fd, end)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except BaseException:
            self._torn.add(key)
            with contextlib.suppress(OSError):
                self._cut(key, fd, end)
            raise
        self._ends[key] = end + len(data)

    def _cut(self, key: str, fd: int, end: int) -> None:
        """Cut off what a failed append left after `end` (the log's last complete append)."""
        if os.fstat(fd).st_size > end:
            os.ftruncate(fd, end)
        self._torn.discard(key)

    def sync(self, key: str) -> None:
        fd = self._fds.get(key)
        if fd is not None:
            os.fsync(fd)

    def read_log(self, key: str, offset: int = 0) -> bytes:
        try:
            fd = os.open(self._checked(key), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return b""
        try:
            chunks: list[bytes] = []
            while True:
                chunk = os.pread(fd, 1 << 20, offset)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
                offset += len(chunk)
        finally:
            os.close(fd)

    def log_sizes(self, prefix: str) -> dict[str, int]:
        return self.log_sizes_except(prefix, set())  # type: ignore[return-value]

    def log_listing_version(self, prefix: str) -> str | None:
        """The folder's modification time: adding or removing a run's folder changes it. A time
        closer to now than `SETTLED_SECONDS` is not trusted (a folder changed again within the
        same timestamp tick, or on a file server whose clock runs behind, would look unchanged)."""
        try:
            st = os.stat(self._path(prefix.rstrip("/")))
        except (FileNotFoundError, NotADirectoryError):
            return "absent"
        if time.time() - st.st_mtime < SETTLED_SECONDS:
            return None
        return f"{st.st_ino}:{st.st_mtime_ns}"

    def log_size(self, key: str) -> int | None:
        try:
            return os.stat(self._checked(key)).st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    def log_sizes_except(self, prefix: str, final: set[str]) -> dict[str, int | None]:
        base = self._path(prefix.rstrip("/"))
        sizes: dict[str, int | None] = {}
        try:
            entries = list(os.scandir(base))
        except FileNotFoundError:
            return sizes
        for entry in entries:
            key = f"{prefix.rstrip('/')}/{entry.name}/{LOG_NAME}"
            if key in final:
                sizes[key] = None
                continue
            try:
                if entry.is_symlink():
                    continue
                st = os.lstat(os.path.join(entry.path, LOG_NAME))
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISREG(st.st_mode):  # a link named log is not a log
                sizes[key] = st.st_size
        return sizes

    def writer(self, key: str) -> Writer | None:
        try:
            return Writer(account_name(os.lstat(self._path(key)).st_uid), FILE_OWNER)
        except FileNotFoundError:
            return None

    def identity(self) -> Writer | None:
        return Writer(account_name(os.geteuid()), FILE_OWNER) if hasattr(os, "geteuid") else None

    def end_log(self, key: str) -> None:
        end = self._ends.pop(key, None)
        fd = self._fds.pop(key, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                if key in self._torn and end is not None:
                    self._cut(key, fd, end)
                os.close(fd)

    def close(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        self._ends.clear()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # at interpreter exit, module globals may already be gone
            pass
