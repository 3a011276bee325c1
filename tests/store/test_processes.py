"""Real writer processes: many at once into one store, and one killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbtrack
from nbtrack.store.store import open_store

WRITER = textwrap.dedent(
    """
    import sys, nbtrack
    store, name, points = sys.argv[1], sys.argv[2], int(sys.argv[3])
    run = nbtrack.start(name, store=store, params={"writer": name})
    for i in range(points):
        nbtrack.log(step=i, loss=1.0 / (i + 1), acc=i / points)
        if i % 500 == 0:
            nbtrack.note(f"{name} at {i}")
    nbtrack.finish()
    print(run.id)
    """
)


def test_eight_writers_at_once_lose_nothing(tmp_path: Path, child_env: dict[str, str]) -> None:
    store = str(tmp_path / "store")
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, store, f"w{i}", "3000"], env=child_env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(8)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    assert all(err.strip() == "" for _, err in results), [err for _, err in results]
    ids = {out.strip() for out, _ in results}
    frame = nbtrack.runs(store=store)
    assert set(frame["id"]) == ids and len(frame) == 8
    assert set(frame["status"]) == {"finished"}
    for run_id in ids:
        run = nbtrack.get_run(run_id, store=store)
        assert not run.log.damage
        metrics = run.metrics
        assert len(metrics[metrics.key == "loss"]) == 3000 and len(metrics[metrics.key == "acc"]) == 3000
        assert list(metrics[metrics.key == "loss"].step) == [float(i) for i in range(3000)]
        assert len(run.notes) == 6


KILLED = textwrap.dedent(
    """
    import sys, time, nbtrack
    run = nbtrack.start("doomed", store=sys.argv[1])
    for i in range(1000):
        nbtrack.log(step=i, loss=float(i))
    nbtrack.flush()
    print(run.id, flush=True)
    for i in range(1000, 10**9):
        nbtrack.log(step=i, loss=float(i))
        if i % 1000 == 0:
            time.sleep(0.001)
    """
)


def test_kill_minus_nine_keeps_everything_flushed(tmp_path: Path, child_env: dict[str, str]) -> None:
    store = str(tmp_path / "store")
    env = child_env | {"NBTRACK_FLUSH_INTERVAL": "0.2"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, store], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    time.sleep(0.5)  # keeps writing unflushed and flushed batches
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    run = nbtrack.get_run(run_id, store=store)
    steps = list(run.metrics[run.metrics.key == "loss"].step)
    assert steps[:1000] == [float(i) for i in range(1000)]  # everything up to the flush
    assert steps == [float(i) for i in range(len(steps))]  # and an unbroken prefix after it
    assert run.status == "crashed"
    assert nbtrack.runs(store=store).iloc[0]["status"] == "crashed"


def test_stale_heartbeat_reads_as_crashed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    from nbtrack.core.identity import effective_status
    from nbtrack.core.state import RunState

    state = RunState(id="x", status="running", boot_id="another-machine", pid=1, heartbeat=1.0, last_seen=time.time())
    assert effective_status(state) == "running"
    assert effective_status(state, now=time.time() + 60) == "crashed"
    assert store.run_ids() == []
