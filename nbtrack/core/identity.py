"""Who and where: the attribution every run records, and whether a run's process still lives."""

from __future__ import annotations

import configparser
import getpass
import os
import platform
import socket
import time
from functools import lru_cache
from pathlib import Path

from nbtrack.core.records import CRASHED, RUNNING
from nbtrack.core.state import RunState

ENV_USER = "NBTRACK_USER"


@lru_cache(maxsize=1)
def _git_user() -> str | None:
    config = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        config.read(Path.home() / ".gitconfig")
        name = config.get("user", "name", fallback=None)
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    return name.strip() or None if name else None


def user_name() -> str:
    """$NBTRACK_USER, else the Git user name, else the OS account."""
    if os.environ.get(ENV_USER):
        return os.environ[ENV_USER]
    git = _git_user()
    if git:
        return git
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@lru_cache(maxsize=1)
def boot_id() -> str:
    """Identifies this boot of this machine: a pid is only meaningful within one."""
    for path in ("/proc/sys/kernel/random/boot_id",):
        try:
            return Path(path).read_text().strip()
        except OSError:
            continue
    return f"{socket.gethostname()}-{int(time.time() - time.monotonic())}"


def host_fields() -> dict[str, str | int]:
    return {
        "user": user_name(),
        "host": socket.gethostname(),
        "boot_id": boot_id(),
        "pid": os.getpid(),
        "platform": platform.platform(),
    }


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def liveness(
    status: str, run_boot_id: str, pid: int, heartbeat: float, last_seen: float, now: float | None = None
) -> str:
    """A `running` run whose process is gone (same machine) or whose heartbeats stopped reads
    as `crashed`; every other status is as recorded."""
    if status != RUNNING:
        return status
    if run_boot_id == boot_id() and pid and not pid_alive(pid):
        return CRASHED
    if (now or time.time()) - last_seen > 3 * heartbeat + 5:
        return CRASHED
    return RUNNING


def effective_status(state: RunState, now: float | None = None) -> str:
    return liveness(state.status, state.boot_id, state.pid, state.heartbeat, state.last_seen, now)
