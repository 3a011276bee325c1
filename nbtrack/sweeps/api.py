"""The verbs: `sweep` (start one and run it), `resume`, `cancel`, `get_sweep`, and the `Sweep`
they return (its status, its trials as a DataFrame, its runs, its best trial)."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.api import StoreLike, as_store
from nbtrack.api import runs as run_table
from nbtrack.core.identity import user_name
from nbtrack.core.ids import new_run_id
from nbtrack.core.redact import MASK, Redactor
from nbtrack.core.sweep_spec import OPTUNA, Spec, make_spec
from nbtrack.core.sweep_state import CANCELLING, FINISHED, RUNNING, SweepState, event
from nbtrack.replay.runner import store_location
from nbtrack.store.store import Store
from nbtrack.store.sweeps import SweepRecord, resolve_sweep
from nbtrack.sweeps.driver import Driver, ListSearch, Say, Search
from nbtrack.sweeps.executors import Executor, connect
from nbtrack.sweeps.progress import best_row, progress, trial_rows
from nbtrack.sweeps.trial import TrialTask

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[SweepState], None]


class SweepRefused(RuntimeError):
    """A resume that would run trials twice, or that lacks a value it needs."""


@dataclass
class Sweep:
    """A sweep in a store, read afresh on every call."""

    store: Store
    id: str

    def state(self) -> SweepState:
        return SweepRecord.of(self.store, self.id).state()

    @property
    def status(self) -> str:
        return self.state().status()

    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial: trial, status, run, attempts, error, ``params.<name>`` and
        ``metrics.<key>`` (the final values the trial's run logged)."""
        import pandas as pd

        rows = trial_rows(self.state())
        flat = [{"trial": r["trial"], "status": r["status"], "run": r["run"], "attempts": len(r["attempts"]),
                 "error": r["error"], **{f"params.{k}": v for k, v in r["params"].items()},
                 **{f"metrics.{k}": v for k, v in r["metrics"].items()}} for r in rows]
        return pd.DataFrame(flat, columns=list(dict.fromkeys(
            ["trial", "status", "run", "attempts", "error", *(k for f in flat for k in f)])))

    def runs(self) -> pd.DataFrame:
        """Every run of the sweep (retried attempts included), as ``nbtrack.runs()`` shows them."""
        return run_table({"sweep": self.id}, self.store)

    def best(self) -> dict[str, Any] | None:
        """The finished trial with the best objective value (sweeps with an objective)."""
        return best_row(self.state())

    def progress(self) -> dict[str, Any]:
        return progress(self.state())

    @property
    def exit_code(self) -> int:
        """0 when every trial finished (or was pruned), else 1."""
        return 0 if self.status == FINISHED else 1

    def widget(self) -> Any:
        from nbtrack.sweeps.widget import SweepProgress

        return SweepProgress.of(self.state())

    def __repr__(self) -> str:
        state = self.state()
        return f"<Sweep {self.id} {state.name!r}: {state.status()}, {progress(state)['done']}/{state.total} done>"


def _source(path: Path) -> tuple[str, str]:
    """The notebook's JSON without outputs (what trials run), and its sha256."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    text = nbformat.writes(nb)
    return text, hashlib.sha256(text.encode()).hexdigest()


def _environment() -> dict[str, Any]:
    """This interpreter's packages, for workers that recreate it (``env="recreate"``)."""
    import platform

    from nbtrack.capture.environment import packages

    return {"python": {"version": platform.python_version()}, "packages": packages()}


def _default_progress(progress: Progress | bool | None) -> tuple[Progress | None, Callable[[], None]]:
    if progress is False:
        return None, lambda: None
    if callable(progress):
        return progress, lambda: None
    from nbtrack.capture.notebook import in_kernel

    if in_kernel():
        from IPython.display import display

        from nbtrack.sweeps.widget import SweepProgress

        view = SweepProgress()
        display(view)
        return view.show, lambda: None
    from nbtrack.sweeps.progress import TerminalProgress

    bar = TerminalProgress()
    return bar, bar.close


def _session(record: SweepRecord, executor: Executor, location: str, source: str, search: Search,
             progress: Progress | bool | None, say: Say | None) -> Sweep:
    state = record.state()
    settings = state.settings
    template = TrialTask(
        store=location, sweep=record.id, session=new_run_id(), trial=-1, params={}, notebook=source,
        notebook_path=str(state.notebook.get("path", "")), name=state.name, tags=tuple(state.tags),
        max_attempts=1 + int(settings.get("retries", 1)), kernel=settings.get("kernel"),
        env=str(settings.get("env", "current")),
        environment=_environment() if settings.get("env") == "recreate" else None,
        allow_missing=bool(settings.get("allow_missing")), cwd=settings.get("cwd"), out_dir=settings.get("out"),
    )
    on_progress, done = _default_progress(progress)
    try:
        Driver(record, executor, template, search, on_progress=on_progress, say=say).run()
    finally:
        done()
    return Sweep(record.store, record.id)


def _search(spec: Spec, state: SweepState, store: Store, resuming: bool) -> Search:
    """What a session runs: `spec`'s trials (those that did not finish, when `resuming`), or an
    Optuna study (that learns from the finished ones first)."""
    if spec.search == OPTUNA:
        from nbtrack.sweeps.search import OptunaSearch

        return OptunaSearch(spec, store, state if resuming else None)
    planned = dict(enumerate(spec.trials()))
    return ListSearch([(i, planned[i]) for i in (state.to_remaining() if resuming else sorted(planned))])


def sweep(
    notebook: str | os.PathLike[str],
    grid: Mapping[str, Any] | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    random: int | None = None,
    seed: int | None = None,
    search: str | None = None,
    trials: int | None = None,
    objective: str | None = None,
    name: str | None = None,
    tags: Iterable[str] = (),
    workers: int | None = None,
    cluster: str | None = None,
    retries: int = 1,
    kernel: str | None = None,
    env: str = "current",
    allow_missing: bool = False,
    cwd: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    store: StoreLike = None,
    shared_folder: bool = False,
    progress: Progress | bool | None = None,
    say: Say | None = None,
) -> Sweep:
    """Run `notebook` once per trial, each a tracked run (papermill, parameters injected after
    its ``parameters`` cell), and return the `Sweep`.

    `grid` maps each swept parameter to its values (the cartesian product is run) or to a
    distribution text (``"uniform:LO:HI"``, ``"loguniform:LO:HI"``, ``"choice:A,B"``) drawn `random`
    times from `seed`; ``search="optuna"`` asks `trials` trials of an Optuna study maximising or
    minimising `objective` (``"val_acc:max"``). `params` go into every trial. Trials run on
    `workers` local processes (default: the CPU count), or on the Dask cluster at `cluster`
    (default ``$NBTRACK_DASK_SCHEDULER``; the store must then be one every worker reaches). A
    crashed trial is tried again up to `retries` times. `progress`: a widget in a notebook, a bar
    in a terminal, False for none, or a callable given each new state.
    """
    spec = make_spec(grid or {}, params, random_count=random, search=search, count=trials, seed=seed,
                     objective=objective)
    path = Path(notebook).resolve()
    source, sha = _source(path)
    target = as_store(store)
    location = store_location(store, target)
    if retries < 0:
        raise ValueError(f"retries must be 0 or more, not {retries}")
    executor = connect(cluster, workers, location, shared_folder)  # a refused store records nothing
    try:
        record = SweepRecord(target, new_run_id())
        redactor = Redactor.from_environ()
        recorded = Spec(spec.dimensions, redactor.mapping(spec.fixed), spec.search, spec.count, spec.seed,
                        spec.objective)
        settings = {"retries": retries, "kernel": kernel, "env": env, "allow_missing": allow_missing,
                    "cwd": str(Path(cwd).resolve()) if cwd else None, "out": str(Path(out).resolve()) if out else None}
        record.write(event("sweep", id=record.id, name=name or path.stem, tags=[str(t) for t in tags],
                           notebook={"path": str(path), "sha256": sha}, spec=recorded.to_json(), settings=settings,
                           user=user_name(), host=socket.gethostname()))
        if say is not None:
            say(f"sweep {record.id}: {spec.total} trials of {path.name} on {executor.name} "
                f"({executor.slots()} at once)")
        # the trials get the values given (secrets included); the record keeps them masked
        search_ = _search(spec, record.state(), target, False)
        return _session(record, executor, location, source, search_, progress, say)
    finally:
        executor.close()


def resume(
    sweep_id: str,
    *,
    notebook: str | os.PathLike[str] | None = None,
    params: Mapping[str, Any] | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    store: StoreLike = None,
    shared_folder: bool = False,
    progress: Progress | bool | None = None,
    say: Say | None = None,
) -> Sweep:
    """Run the trials of a sweep that did not finish (never run, failed, crashed, cancelled), from
    the notebook it recorded (or `notebook`, which must be the same); `params` give again fixed
    values the record masked as secrets."""
    target = as_store(store)
    record = SweepRecord(target, resolve_sweep(target, sweep_id))
    state = record.state()
    if state.status() in (RUNNING, CANCELLING) and not state.cancelled and state.driver_alive() is not False:
        where = state.session or {}
        raise SweepRefused(f"sweep {state.id} may still be running (driver pid {where.get('pid')} on "
                           f"{where.get('host')}): cancel it first (nbtrack sweep --cancel {state.id})")
    path = Path(notebook or state.notebook.get("path", "")).resolve()
    source, sha = _source(path)
    if sha != state.notebook.get("sha256"):
        raise SweepRefused(f"{path} is not the notebook sweep {state.id} ran (its code changed since): trials "
                           "would not be comparable")
    fixed = {**state.spec.fixed, **(params or {})}
    masked = sorted(k for k, v in fixed.items() if v == MASK)
    if masked:
        raise SweepRefused(f"the record masks {', '.join(masked)} (a secret): give the value again "
                           f"({' '.join(f'-p {k} VALUE' for k in masked)})")
    spec = Spec(state.spec.dimensions, fixed, state.spec.search, state.spec.count, state.spec.seed,
                state.spec.objective)
    location = store_location(store, target)
    executor = connect(cluster, workers, location, shared_folder)
    try:
        return _session(record, executor, location, source, _search(spec, state, target, True), progress, say)
    finally:
        executor.close()


def cancel(sweep_id: str, store: StoreLike = None, reason: str = "cancelled") -> Sweep:
    """Ask a sweep to stop: its pending trials never start, running ones finish."""
    target = as_store(store)
    record = SweepRecord(target, resolve_sweep(target, sweep_id))
    record.state()  # an unknown sweep raises here
    record.write(event("cancel", user=user_name(), reason=reason))
    return Sweep(target, record.id)


def get_sweep(sweep_id: str, store: StoreLike = None) -> Sweep:
    target = as_store(store)
    return Sweep(target, resolve_sweep(target, sweep_id))
