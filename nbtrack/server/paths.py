"""Paths and names from requests, checked before anything is looked up.

A request may name a notebook (server-relative, as in the contents API) or an artifact. Both are
refused when they try to leave where they belong: ``..`` segments, absolute paths, backslashes,
NUL bytes, and the same hidden behind percent-encoding (``%2e%2e%2f``, ``%252e%252e``).
Notebook paths are also resolved (symlinks followed) and must stay inside the server root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_DECODES = 4


class PathRejected(ValueError):
    """A path or name that tries to escape (answered 400)."""


class NotFound(LookupError):
    """Nothing there, or not inside what the server may show (answered 404)."""


def _decoded_forms(text: str) -> list[str]:
    forms = [text]
    for _ in range(_MAX_DECODES):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    return forms


def _check(text: str, what: str) -> None:
    if not text.strip():
        raise PathRejected(f"empty {what}")
    for form in _decoded_forms(text):
        if "\x00" in form or "\\" in form:
            raise PathRejected(f"{what} {text!r} holds a NUL byte or a backslash")
        if form.startswith(("/", "~")) or _DRIVE.match(form):
            raise PathRejected(f"{what} {text!r} is absolute; give it relative to the server root")
        if ".." in form.split("/"):
            raise PathRejected(f"{what} {text!r} leaves its folder ('..')")


def relative_path(text: str, what: str = "path") -> str:
    """`text` as a clean server-relative path (``a/b.ipynb``), or PathRejected."""
    _check(text, what)
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts:
        raise PathRejected(f"{what} {text!r} names no file")
    return "/".join(parts)


def artifact_name(text: str) -> str:
    """An artifact name from a URL, refused when it looks like a path escape. The artifact is
    then looked up by this exact name in the run's list; it never becomes a file path."""
    _check(text, "artifact name")
    return text


def inside_root(root_dir: str | os.PathLike[str], path: str) -> Path:
    """The real file `path` names under `root_dir`; NotFound when it is missing or when it
    (through a symlink) lies outside the root."""
    root = Path(os.path.realpath(root_dir))
    target = Path(os.path.realpath(root / relative_path(path)))
    if target != root and root not in target.parents:
        raise NotFound(f"{path!r} is not inside the server root")
    if not target.is_file():
        raise NotFound(f"no file {path!r}")
    return target


def notebook_matcher(root_dir: str | os.PathLike[str], path: str) -> Callable[[str | None], bool]:
    """A test for a run's recorded ``notebook`` (a kernel-side absolute path, or a path relative
    to the server root) being the notebook at server-relative `path`."""
    wanted = relative_path(path, "notebook path")
    root = os.path.realpath(root_dir)
    wanted_real = os.path.realpath(os.path.join(root, wanted))
    seen: dict[str, bool] = {}

    def matches(recorded: str | None) -> bool:
        if not recorded:
            return False
        known = seen.get(recorded)
        if known is None:
            if os.path.isabs(recorded):
                known = os.path.realpath(recorded) == wanted_real
            else:
                clean = "/".join(p for p in recorded.replace("\\", "/").split("/") if p not in ("", "."))
                known = clean == wanted or os.path.realpath(os.path.join(root, clean)) == wanted_real
            seen[recorded] = known
        return known

    return matches


def folder_inside_root(root_dir: str | os.PathLike[str], path: str) -> Path:
    """The folder `path` names under `root_dir` (it may not exist yet); PathRejected when it, or
    the nearest folder of it that exists (through a symlink), lies outside the root."""
    root = Path(os.path.realpath(root_dir))
    target = root / relative_path(path, "folder")
    existing = target
    while not existing.exists():
        existing = existing.parent
    real = Path(os.path.realpath(existing))
    if real != root and root not in real.parents:
        raise PathRejected(f"folder {path!r} is not inside the server root")
    if not real.is_dir():
        raise PathRejected(f"{path!r} is a file, not a folder")
    return Path(os.path.realpath(target)) if target.exists() else real / target.relative_to(existing)
