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


BEATING = textwrap.dedent(
    """
    import sys, time, nbtrack
    run = nbtrack.start(sys.argv[2], store=sys.argv[1])
    nbtrack.log(step=0, loss=1.0)
    nbtrack.flush()
    print(run.id, flush=True)
    time.sleep(600)  # alive, logging nothing: only its heartbeats show it lives
    """
)


def _status_when(store: str, run_id: str, wanted: str, timeout: float) -> tuple[str, float]:
    """Poll the run table until `run_id` reads `wanted` (or `timeout` passes): its status then, and
    the run's last sign of life."""
    deadline = time.monotonic() + timeout
    while True:
        row = nbtrack.runs(store=store).set_index("id").loc[run_id]
        state = nbtrack.get_run(run_id, store).state
        if row["status"] == wanted or time.monotonic() > deadline:
            return str(row["status"]), state.last_seen
        time.sleep(0.1)


def test_a_run_whose_heartbeats_stop_reads_as_crashed_and_live_again_when_they_resume(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    """A process that stops (SIGSTOP: a hung process or a frozen VM, its pid still alive, as a
    process on another machine looks from here) stops heartbeating; readers turn its `running`
    into `crashed`, while a run that keeps beating beside it stays `running`."""
    store = str(tmp_path / "store")
    env = child_env | {"NBTRACK_HEARTBEAT": "0.2", "NBTRACK_FLUSH_INTERVAL": "0.1"}
    procs = [subprocess.Popen([sys.executable, "-c", BEATING, store, name], env=env, stdout=subprocess.PIPE,
                              text=True) for name in ("hung", "beating")]
    try:
        hung, beating = (p.stdout.readline().strip() for p in procs)  # type: ignore[union-attr]
        started = nbtrack.get_run(hung, store).state.started
        status, last_seen = _status_when(store, hung, "running", timeout=10)
        assert status == "running"
        while last_seen <= started + 0.2:  # a heartbeat landed: the writer beats
            status, last_seen = _status_when(store, hung, "running", timeout=10)
        os.kill(procs[0].pid, signal.SIGSTOP)
        status, last_seen = _status_when(store, hung, "crashed", timeout=30)
        assert status == "crashed"
        assert time.time() - last_seen > 3 * 0.2 + 5  # read as crashed once its beats were overdue
        assert nbtrack.runs(store=store).set_index("id").loc[beating, "status"] == "running"
        assert nbtrack.get_run(hung, store).status == "crashed"  # both read paths agree

        os.kill(procs[0].pid, signal.SIGCONT)  # it lives again: its next heartbeat says so
        status, _ = _status_when(store, hung, "running", timeout=30)
        assert status == "running"
    finally:
        for proc in procs:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait(timeout=10)
