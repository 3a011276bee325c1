"""The git state of the repository holding the notebook: commit, branch, dirty, diff."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

MAX_DIFF_BYTES = 256 * 1024
GIT_TIMEOUT = 5.0


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, timeout=GIT_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def git_state(folder: str | Path) -> dict[str, Any] | None:
    """{commit, branch, dirty, diff, root} for the repository containing `folder`, or None.
    `diff` is ``git diff HEAD`` (tracked files; capped), untracked files are listed by name."""
    folder = Path(folder)
    if not folder.is_dir():
        folder = folder.parent
    root = _git(folder, "rev-parse", "--show-toplevel")
    if root is None:
        return None
    commit = (_git(folder, "rev-parse", "HEAD") or "").strip() or None
    branch = (_git(folder, "rev-parse", "--abbrev-ref", "HEAD") or "").strip() or None
    status = _git(folder, "status", "--porcelain") or ""
    diff = (_git(folder, "diff", "HEAD", "--no-color", "--no-ext-diff") or "") if commit else ""
    untracked = [line[3:] for line in status.splitlines() if line.startswith("??")]
    if len(diff.encode()) > MAX_DIFF_BYTES:
        diff = diff.encode()[:MAX_DIFF_BYTES].decode("utf-8", "ignore") + "\n[nbtrack: diff cut here]\n"
    return {
        "root": root.strip(),
        "commit": commit,
        "branch": None if branch == "HEAD" else branch,
        "dirty": bool(status.strip()),
        "diff": diff,
        "untracked": untracked[:200],
    }
