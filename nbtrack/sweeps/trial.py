"""One trial of a sweep, executed where a worker runs it (a local pool process, a Dask worker).

`run_trial` is the whole of a worker's part; it needs nothing from the machine that started the
sweep but the store (the task carries the notebook's source and the parameters):

1. If the sweep was cancelled, nothing runs. Attempts of this trial in this session that never
   reported (their worker died) are recorded as crashed; when they used up the attempts allowed,
   the trial gives up.
2. An ``attempt`` event, then the notebook is rebuilt and executed the way replay does it
   (``nbtrack.replay.build``: parameters injected after the ``parameters`` cell, tracking added
   when the notebook has none; ``nbtrack.replay.execute``: papermill in a kernel of its own), with
   ``$NBTRACK_SWEEP`` telling the kernel's run which sweep, trial and attempt it is.
3. The kernel's run names itself to the sweep (a ``started`` event, written where it starts);
   meanwhile a watcher interrupts the kernel when a ``stop`` event names this attempt.
4. A ``result`` event: finished, failed (a cell raised), crashed (the kernel died), pruned or
   cancelled, with the run's final metric values.
"""

from __future__ import annotations

import copy
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from nbtrack.api import Run
from nbtrack.core.identity import boot_id, effective_status
from nbtrack.core.ids import new_run_id
from nbtrack.core.redact import Redactor
from nbtrack.core.sweep_state import (
    CANCELLED,
    CRASHED,
    ENV_SWEEP,
    FAILED,
    FINISHED,
    PRUNED,
    RUNNING,
    event,
    sweep_tag,
    trial_environment,
)
from nbtrack.replay.build import build
from nbtrack.replay.execute import Execution, execute
from nbtrack.replay.fidelity import with_hash_seed
from nbtrack.replay.runner import failed_run, kernel_exists, recent_runs, record_missing_params, recreated_kernel
from nbtrack.store.store import Store, open_store
from nbtrack.store.sweeps import SweepRecord

WATCH_SECONDS = 1.0
RECREATE = "recreate"


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs to run one trial (picklable: it travels to Dask workers)."""

    store: str  # URL or path, as every worker opens it
    sweep: str
    session: str
    trial: int
    params: dict[str, Any]
    notebook: str  # the notebook's JSON, outputs stripped
    notebook_path: str  # where it was read (the kernel's folder when it exists on the worker)
    name: str  # the run's name when the notebook starts no run itself
    tags: tuple[str, ...] = ()
    max_attempts: int = 2
    kernel: str | None = None
    env: str = "current"  # or "recreate": a virtual environment of `environment`'s packages
    environment: dict[str, Any] | None = None
    allow_missing: bool = False
    cwd: str | None = None
    out_dir: str | None = None


@dataclass(frozen=True)
class TrialOutcome:
    trial: int
    status: str
    attempt: str | None = None
    run: str | None = None
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    host: str = ""


def run_trial(task: TrialTask) -> TrialOutcome:
    """Run `task`'s trial once (see the module doc); never raises for the notebook's faults."""
    store = open_store(task.store)
    record = SweepRecord.of(store, task.sweep)
    state = record.state()
    if state.cancelled:
        return TrialOutcome(task.trial, CANCELLED, error="the sweep was cancelled before this trial started")
    earlier = state.attempts_in(task.session, task.trial)
    for attempt in earlier:
        if attempt.status == RUNNING:
            record.write(event("result", session=task.session, trial=task.trial, attempt=attempt.id, status=CRASHED,
                               run=attempt.run, error=f"its worker ({attempt.host}) stopped before the trial ended"))
    if len(earlier) >= task.max_attempts:
        last = earlier[-1]
        return TrialOutcome(task.trial, CRASHED, last.id, last.run, f"gave up after {len(earlier)} attempts")
    attempt_id = new_run_id()
    record.write(event("attempt", session=task.session, trial=task.trial, attempt=attempt_id,
                       params=Redactor.from_environ().mapping(task.params), host=socket.gethostname(),
                       pid=os.getpid(), boot_id=boot_id()))
    try:
        return _attempt(task, store, record, attempt_id)
    except Exception as exc:  # the worker's own fault (store, build): recorded, then reported
        error = Redactor.from_environ().text(f"{type(exc).__name__}: {exc}")
        record.write(event("result", session=task.session, trial=task.trial, attempt=attempt_id, status=FAILED,
                           error=error))
        return TrialOutcome(task.trial, FAILED, attempt_id, None, error, host=socket.gethostname())


def _attempt(task: TrialTask, store: Store, record: SweepRecord, attempt_id: str) -> TrialOutcome:
    started = time.time()
    watcher = _Watcher(record, attempt_id)
    try:
        execution = _execute(task, attempt_id, watcher.stop)
    finally:
        watcher.close()
    run = _run_of(store, record, attempt_id, started)
    if run is None:
        header = {"name": task.name, "tags": [*task.tags, sweep_tag(task.sweep)], "sweep": task.sweep,
                  "trial": task.trial, "attempt": attempt_id}
        run = Run(store, failed_run(store, header, f"the trial failed before tracking started: {execution.error}",
                                    execution.failure))
    else:
        record_missing_params(store, run, task.params)
    status = _status(execution, run, watcher.stopped_as)
    metrics = {key: summary.last for key, summary in run.state.metrics.items()}
    error = Redactor.from_environ().text(execution.error) if execution.error else None
    record.write(event("result", session=task.session, trial=task.trial, attempt=attempt_id, status=status,
                       run=run.id, error=error, metrics=metrics))
    return TrialOutcome(task.trial, status, attempt_id, run.id, error, metrics, socket.gethostname())


def _run_of(store: Store, record: SweepRecord, attempt_id: str, since: float) -> Run | None:
    """The run this attempt's kernel started: named by the kernel's ``started`` event; else (the
    kernel died before it could write it) the recent run whose header names the attempt."""
    attempt = record.state().attempts.get(attempt_id)
    if attempt is not None and attempt.run:
        return Run(store, attempt.run)
    for run in recent_runs(store, since):
        header = store.read_run(run.id, annotations=False).records[:1]
        if header and header[0].get("attempt") == attempt_id:
            return run
    return None


def _status(execution: Execution, run: Run, stopped_as: str | None) -> str:
    if stopped_as is not None:
        return stopped_as
    if execution.error is None:
        return FINISHED
    return CRASHED if execution.crashed or effective_status(run.state) == CRASHED else FAILED


def _folder(task: TrialTask) -> Path:
    if task.cwd:
        return Path(task.cwd).resolve()
    beside = Path(task.notebook_path).parent
    return beside.resolve() if beside.is_dir() else Path(tempfile.gettempdir())


def _execute(task: TrialTask, attempt_id: str, stop: threading.Event) -> Execution:
    nb = nbformat.reads(task.notebook, as_version=4)
    source = copy.deepcopy(nb)
    for cell in source.cells:  # saved outputs are not an original to compare with, nor errors to allow
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    built = build(source, [], lambda sha: [], parameters=task.params, run_name=task.name)
    folder = _folder(task)
    out_dir = Path(task.out_dir).resolve() if task.out_dir else folder / "nbtrack-sweeps"
    output = out_dir / task.sweep / f"trial-{task.trial:03d}-{attempt_id}.ipynb"
    kernel_env = with_hash_seed({k: v for k, v in os.environ.items() if k != "NBTRACK_REPLAY_OF"})
    kernel_env.update(NBTRACK_STORE=task.store, NBTRACK_NOTEBOOK=str(output),
                      **{ENV_SWEEP: trial_environment(task.sweep, task.trial, attempt_id, task.tags)})
    if task.env == RECREATE:
        sources = [c.source for c in built.nb.cells if c.cell_type == "code"]
        kernel_name = recreated_kernel(task.environment or {}, sources, task.allow_missing, kernel_env).kernel_name
    else:
        wanted = task.kernel or built.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        kernel_name = wanted if task.kernel or kernel_exists(wanted) else "python3"
    built.nb.metadata["kernelspec"] = {**built.nb.metadata.get("kernelspec", {}), "name": kernel_name}
    built.nb.metadata["nbtrack"] = {"sweep": task.sweep, "trial": task.trial, "attempt": attempt_id}
    return execute(built.nb, output, kernel_name=kernel_name, cwd=folder, env=kernel_env, stop=stop,
                   source_label=f"nbtrack sweep {task.sweep} trial {task.trial}")


class _Watcher:
    """While a trial runs: sets `stop` when the sweep asks this attempt to stop (a ``stop`` event:
    a pruned trial, or a second Ctrl-C)."""

    def __init__(self, record: SweepRecord, attempt_id: str) -> None:
        self.record, self.attempt_id = record, attempt_id
        self.stop = threading.Event()
        self.stopped_as: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="nbtrack-trial-watcher", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(WATCH_SECONDS):
            try:
                attempt = self.record.state().attempts.get(self.attempt_id)
            except Exception:  # a store hiccup: look again next time
                continue
            if attempt is not None and attempt.stopping:
                self.stopped_as = PRUNED if attempt.stopping == PRUNED else CANCELLED
                self.stop.set()
                return

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
