"""A listener runs on the run's writer thread; a flush it asks for (e.g. a live chart reading the
run back) must not wait for that same thread, which would stall the run until the timeout."""

from __future__ import annotations

import threading
from pathlib import Path

import nbtrack


def test_flush_from_a_listener_returns_and_the_run_finishes(tmp_path: Path) -> None:
    run = nbtrack.start("listener flush", store=str(tmp_path / "store"))
    flushed_in_listener = threading.Event()

    def listener(active: object) -> None:
        run.flush(timeout=120)  # called on the writer thread
        flushed_in_listener.set()

    run.add_listener(listener)
    nbtrack.log(step=0, loss=1.0)
    finisher = threading.Thread(target=nbtrack.finish)
    finisher.start()
    finisher.join(timeout=20)  # a self-wait would hold finish() for the listener's 120 s
    assert not finisher.is_alive(), "finish() is stuck behind a listener waiting for its own thread"
    assert flushed_in_listener.is_set()
    assert nbtrack.get_run(run.id, str(tmp_path / "store")).status == "finished"
