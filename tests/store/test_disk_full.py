"""A full disk, for real: a write that fails midway and is retried once space returns stores every
point exactly once, leaves a log `fsck` finds clean, is reported once, and is recorded on the run.

Real conditions: a file size limit (``RLIMIT_FSIZE``, SIGXFSZ ignored) in a child process, which
works anywhere; the same limit on a team store's server process while a kernel writes to it over
HTTP; and a tiny tmpfs filled up with ballast, where this machine lets us mount one (root). Each
time the failing append lands part of its bytes before the error.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import nbtrack
from nbtrack.cli import main
from nbtrack.core import framing
from nbtrack.store.maintenance import fsck
from nbtrack.store.store import open_store

STEPS = 400
BEFORE = 100  # steps written before the disk fills up
FAILURE = "cannot write run"

FILE_SIZE_LIMIT = textwrap.dedent(
    f"""
    import resource, signal, sys
    from pathlib import Path
    import nbtrack

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    run = nbtrack.start("disk full", store=sys.argv[1])
    for i in range({BEFORE}):
        nbtrack.log(step=i, loss=1.0 / (i + 1))
    nbtrack.flush()
    log = Path(sys.argv[1], "runs", run.id, "log")
    good = log.stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (good + 500, hard))  # room for 500 more bytes only
    for i in range({BEFORE}, {STEPS}):
        nbtrack.log(step=i, loss=1.0 / (i + 1))
    nbtrack.flush()  # lands 500 bytes of the append, then fails
    nbtrack.flush()  # fails again, from a frame boundary
    print("size while full", log.stat().st_size - good, flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space returns
    nbtrack.flush()
    nbtrack.finish()
    print(run.id)
    """
)


def _assert_recovered(store: str, run_id: str, log: Path | None = None) -> None:
    run = nbtrack.get_run(run_id, store)
    assert run.status == "finished"
    loss = run.metrics[run.metrics.key == "loss"]
    assert len(loss) == STEPS  # not one point more: nothing was written twice
    assert list(loss.step) == [float(i) for i in range(STEPS)]
    assert [w["kind"] for w in run.warnings] == ["write-failed"]  # the outage, on the run
    report = fsck(open_store(store))
    assert report.ok and report.damaged_logs == {} and report.recovered_logs == {}
    assert main(["--store", store, "fsck"]) == 0
    if log is not None:  # the bytes themselves: one intact record after another, to the end
        decoded = framing.decode(log.read_bytes())
        assert decoded.damage == [] and decoded.recovered == [] and decoded.end == log.stat().st_size


def test_file_size_limit_mid_write_then_space_returns(tmp_path: Path, child_env: dict[str, str]) -> None:
    store = str(tmp_path / "store")
    done = subprocess.run([sys.executable, "-c", FILE_SIZE_LIMIT, store], env=child_env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert lines[0] == "size while full 0"  # the bytes that landed were cut off again
    assert done.stderr.count(f"RuntimeWarning: nbtrack {FAILURE}") == 1, done.stderr  # once, not per retry
    assert "File too large" in done.stderr
    _assert_recovered(store, lines[1], Path(store, "runs", lines[1], "log"))


def test_team_server_out_of_space_mid_write_then_space_returns(tmp_path: Path) -> None:
    """The server's disk fills under a kernel writing over HTTP: the server keeps its log whole, the
    kernel keeps its data and re-sends it at the same offset, nothing is stored twice."""
    from tests.servers import start_store_server

    server = start_store_server(tmp_path / "server", preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN))
    try:
        run = nbtrack.start("server disk full", store=server.url)
        for i in range(BEFORE):
            nbtrack.log(step=i, loss=1.0 / (i + 1))
        run.flush()
        log = server.store_dir / "runs" / run.id / "log"
        good = log.stat().st_size
        soft, hard = resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (good + 500, hard))
        with pytest.warns(RuntimeWarning, match=FAILURE) as caught:
            for i in range(BEFORE, STEPS):
                nbtrack.log(step=i, loss=1.0 / (i + 1))
            run.flush()
            run.flush()
        assert len([w for w in caught if FAILURE in str(w.message)]) == 1
        assert log.stat().st_size == good  # the server cut off what landed
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (soft, hard))  # space returns
        run.flush()
        nbtrack.finish()
        _assert_recovered(server.url, run.id, log)
    finally:
        server.stop()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted for this test (needs root: skipped, with the reason, elsewhere)."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the RLIMIT_FSIZE test covers the same path")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write `path` until the disk is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_full_tmpfs_mid_write_then_space_returns(tiny_disk: Path) -> None:
    store = str(tiny_disk / "store")
    run = nbtrack.start("disk full", store=store)
    for i in range(BEFORE):
        nbtrack.log(step=i, loss=1.0 / (i + 1))
    run.flush()
    log = Path(store, "runs", run.id, "log")
    good = log.stat().st_size
    _fill(tiny_disk / "ballast")  # only the slack of the log's last page is left: a write lands partly
    with pytest.warns(RuntimeWarning, match=FAILURE) as caught:
        for i in range(BEFORE, STEPS):
            nbtrack.log(step=i, loss=1.0 / (i + 1))
        run.flush()
        run.flush()
    assert len([w for w in caught if FAILURE in str(w.message)]) == 1
    assert "No space left" in str(caught[0].message)
    assert log.stat().st_size == good
    with contextlib.suppress(FileNotFoundError):
        os.remove(tiny_disk / "ballast")  # space returns
    run.flush()
    nbtrack.finish()
    _assert_recovered(store, run.id, log)
