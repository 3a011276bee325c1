"""Replays started over the REST API: each runs ``nbtrack.replay.replay`` in a worker thread;
the job's state, progress, result and error are kept in memory for clients to poll."""

from __future__ import annotations

import secrets
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.api import Run
from nbtrack.server.paths import NotFound
from nbtrack.store.store import Store

RUNNING, DONE, FAILED = "running", "done", "failed"
ORDERS = ("notebook", "executed")


class Busy(RuntimeError):
    """Too many replays already running (answered 409)."""


@dataclass
class ReplayJob:
    id: str
    run: str
    user: str
    started: float = field(default_factory=time.time)
    state: str = RUNNING
    done: int = 0
    total: int = 0
    replay_run: str | None = None
    report: dict[str, Any] | None = None
    exit_code: int | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    ended: float | None = None
    output: str | None = None  # the executed notebook, server-relative

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = int(done), int(total)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "progress": {"done": self.done, "total": self.total},
            "replay_run": self.replay_run,
            "report": self.report,
            "error": self.error,
            "run": self.run,
            "exit_code": self.exit_code,
            "notes": list(self.notes),
            "output": self.output,
        }


class ReplayJobs:
    """The replays this server started; finished ones are forgotten after `keep` newer ones."""

    def __init__(self, max_running: int = 2, keep: int = 100) -> None:
        self.max_running = max_running
        self.keep = keep
        self._jobs: OrderedDict[str, ReplayJob] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, store: Store, run_id: str, parameters: dict[str, Any], order: str, user: str,
              out_dir: Path | None = None, out_label: str | None = None) -> ReplayJob:
        """Start a replay of `run_id`; its executed notebook goes to `out_dir` (created when
        missing; shown to clients as `out_label`), else beside the original's folder."""
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
        if not Run(store, run_id).state.snapshots:
            raise ValueError(f"run {run_id} has no notebook snapshot: only notebook runs can be replayed")
        from nbtrack.replay import replay  # papermill and kernels: only when a replay is asked for

        with self._lock:
            running = sum(1 for job in self._jobs.values() if job.state == RUNNING)
            if running >= self.max_running:
                raise Busy(f"{running} replays are already running; wait for one to finish")
            job = ReplayJob(secrets.token_hex(8), run_id, user)
            self._jobs[job.id] = job
            self._forget_old()
        out = None
        if out_dir is not None:
            from nbtrack.replay.report import output_path_for

            out = output_path_for(Run(store, run_id).state.notebook, run_id, out_dir)
            job.output = f"{out_label or out_dir}/{out.name}"
        worker = threading.Thread(
            target=self._work,
            args=(job, replay, store, parameters, order, out),
            name=f"nbtrack-replay-{job.id}",
            daemon=True,
        )
        worker.start()
        return job

    def _work(self, job: ReplayJob, replay: Any, store: Store, parameters: dict[str, Any], order: str,
              out: Path | None) -> None:
        try:
            if out is not None:
                out.parent.mkdir(parents=True, exist_ok=True)
            result = replay(job.run, parameters, order=order, store=store, progress=job.progress, out=out,
                            yes=True)  # (the route asked for a confirmation already, when one was due)
            job.replay_run = result.run_id
            job.exit_code = result.exit_code
            job.notes = list(result.notes)
            job.report = result.report.to_dict()
            job.state = DONE
        except Exception as exc:
            job.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            job.state = FAILED
        finally:
            job.ended = time.time()

    def get(self, job_id: str) -> ReplayJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no replay job {job_id!r} (jobs live in the server's memory until it restarts)")
        return job

    def _forget_old(self) -> None:
        finished = [key for key, job in self._jobs.items() if job.state != RUNNING]
        for key in finished[: max(len(finished) - self.keep, 0)]:
            del self._jobs[key]
