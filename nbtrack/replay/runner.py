"""``replay()``: re-execute a run's notebook with papermill, track it as a new run linked to its
origin, and report whether it reproduced.

The replayed notebook is a snapshot of a tracked notebook, so it starts tracking itself
(``%nbtrack start``) in the replay kernel; the kernel gets ``NBTRACK_REPLAY_OF`` (the run header's
``replay_of``), ``NBTRACK_STORE`` and ``NBTRACK_NOTEBOOK`` (the output notebook). This process
then finds that run, and adds the report to it as an annotation (never writing another
process's log). When no run appears (the kernel never started, or died before tracking), the
failure is recorded here as a failed run linked to its origin, with the report.

Thread-safe and silent by default (the server calls it from worker threads): nothing
process-wide changes (no chdir, no os.environ), and messages go to the `log` callback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.api import Run, as_store
from nbtrack.core import records
from nbtrack.core.checks import check_identifier
from nbtrack.core.fingerprint import HashCache
from nbtrack.core.identity import host_fields, user_name
from nbtrack.core.ids import new_run_id
from nbtrack.core.records import FAILED
from nbtrack.core.redact import Redactor
from nbtrack.core.reproduce import DEFAULT_TOLERANCE, Report, compare_metrics
from nbtrack.core.run import ActiveRun
from nbtrack.replay import envs
from nbtrack.replay.build import build
from nbtrack.replay.data import MODES as DATA_MODES
from nbtrack.replay.data import RECORDED, recorded_data
from nbtrack.replay.execute import Execution, Progress, execute
from nbtrack.replay.fidelity import RESTORED, Preparation, attribute, compare_runs, prepare
from nbtrack.replay.report import (
    compare_cells,
    data_checks,
    environment_differences,
    final_metrics,
    fingerprint_now,
    output_path_for,
    store_report,
)
from nbtrack.store.attribution import Attribution, attribution
from nbtrack.store.locate import index_path
from nbtrack.store.store import Store

CURRENT, RECREATE = "current", "recreate"
Log = Callable[[str], None]


class ReplayRefused(PermissionError):
    """Replaying a run that is not verifiably the caller's needs a confirmation (``yes=True`` /
    ``--yes``)."""


@dataclass
class ReplayResult:
    run_id: str | None  # the replay run
    report: Report
    output_path: Path
    original_id: str
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.report.exit_code

    @property
    def verdict(self) -> str:
        return self.report.verdict


def run_attribution(original: Run) -> Attribution:
    """Who wrote `original` and each of its snapshots, as its store attests (never from the
    run's own ``user`` alone: ``nbtrack.store.attribution``), and whether that is this user."""
    backend = original.store.backend
    return attribution(backend, original.id, [backend.identity()], user_name())


def owner_warning(original: Run) -> str | None:
    """Whose code a replay would run, and who wrote what, when the run is not verifiably this
    user's (its log and every snapshot written by them); None when it is."""
    found = run_attribution(original)
    if found.mine:
        return None
    return f"{found.describe()}; replaying it runs that code on this machine"


def check_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """`parameters` whose names are Python identifiers (they become assignments in the
    notebook's code; values are written papermill's way, as literals); else ValueError."""
    for name in parameters:
        check_identifier("parameter", name)
    return dict(parameters)


def _kernel_name(original: Run, nb: Any, environment: Mapping[str, Any]) -> str:
    header = next(iter(original.records_of("run")), {})
    for name in (header.get("kernel_name"), (environment.get("kernel") or {}).get("name"),
                 nb.metadata.get("kernelspec", {}).get("name")):
        if name:
            return str(name)
    return "python3"


def kernel_exists(name: str) -> bool:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
        return True
    except NoSuchKernel:
        return False


def store_location(store: str | os.PathLike[str] | Store | None, target: Store) -> str:
    """The store a kernel is told to use (``$NBTRACK_STORE``): the location as given (a URL keeps
    its credentials), else the opened store's URL; a path made absolute."""
    location = os.fspath(store) if isinstance(store, (str, os.PathLike)) else target.url
    return location if "://" in location else os.path.abspath(location)


def recent_runs(store: Store, since: float) -> Iterator[Run]:
    """Runs started after `since` (epoch seconds, with 2 s of slack for clocks), newest first:
    where the run a kernel just started is found (replays here, sweep trials too)."""
    floor = new_run_id(since - 2.0)[:10]
    for run_id in reversed(store.run_ids()):
        if run_id[:10] < floor:
            break
        yield Run(store, run_id)


def _started_in_cell(run: Run) -> Any:
    return next(iter(run.records_of("run")), {}).get("started_in_cell")


def _find_replay_run(store: Store, original_id: str, notebook: Path, since: float,
                     started_in_cell: Any = None) -> Run | None:
    """The run the replay kernel started: linked to the original, started after `since`; the
    one writing our output notebook when several replays of one run ran at once; for a run a
    cell started (``nbtrack.start()`` in a loop), the one started at the same place: the same
    cell source, the same number of runs that cell had started before it."""
    found = [run for run in recent_runs(store, since) if run.state.replay_of == original_id]
    mine = [r for r in found if r.state.notebook and os.path.abspath(r.state.notebook) == str(notebook)]
    if started_in_cell is not None:
        mine = [r for r in (mine or found) if _started_in_cell(r) == started_in_cell] or mine
    return (mine or sorted(found, key=lambda r: r.id))[0] if (mine or found) else None


def failed_run(store: Store, header: Mapping[str, Any], error: str, status: str = FAILED) -> str:
    """Record a run with `header` and `status` (failed, or crashed when its kernel never started or
    died first) for an execution that never started tracking; returns its id."""
    fields = {"cwd": os.getcwd(), **host_fields(), **header}
    run = ActiveRun(store, new_run_id(), fields, flush_interval=60.0, heartbeat=60.0)
    run.finish(status, error=error)
    return run.id


def _record_failure(store: Store, original: Run, notebook: Path, error: str, status: str = FAILED) -> str:
    """A failed run linked to the original, for a replay that never started tracking."""
    header = {"name": original.state.name, "tags": list(original.state.tags), "replay_of": original.id,
              "notebook": str(notebook)}
    return failed_run(store, header, f"replay failed before tracking started: {error}", status)


def record_missing_params(store: Store, run: Run, parameters: Mapping[str, Any]) -> None:
    """Add the injected `parameters` the kernel did not record itself (e.g. no parameters cell ran
    under tracking) to `run`, as an annotation; secret-looking ones masked, as the kernel masks them."""
    given = Redactor.from_environ().mapping(parameters)
    missing = {k: v for k, v in given.items() if run.state.params.get(k) != v}
    if missing:
        store.annotate(run.id, records.params(missing))


def recreated_kernel(environment: Mapping[str, Any], sources: list[str], allow_missing: bool,
                     kernel_env: dict[str, str]) -> envs.Environment:
    """A virtual environment of `environment`'s packages (``envs.recreate``), with `kernel_env`
    made to run in it."""
    recreated = envs.recreate(environment, sources, allow_missing)
    for name in ("PYTHONPATH", "PYTHONHOME"):
        kernel_env.pop(name, None)
    kernel_env["VIRTUAL_ENV"] = str(recreated.folder)
    return recreated


def replay(
    run: str | Run,
    parameters: Mapping[str, Any] | None = None,
    *,
    order: str = "notebook",
    kernel: str | None = None,
    env: str = CURRENT,
    data: str = CURRENT,
    cwd: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    allow_missing: bool = False,
    store: str | os.PathLike[str] | Store | None = None,
    progress: Progress | None = None,
    yes: bool = False,
    progress_bar: bool = False,
    log: Log | None = None,
    rng: str = RESTORED,
    check_determinism: bool = False,
) -> ReplayResult:
    """Re-execute `run`'s notebook (papermill), tracked as a new run with ``replay_of`` = `run`,
    and compare it with the original (see ``nbtrack.core.reproduce``).

    `parameters` override the notebook's parameters (papermill's way); `order` is ``notebook``
    (top to bottom) or ``executed`` (as the original session ran its cells); `env` is ``current``
    (the kernel `kernel`, else the recorded one) or ``recreate`` (a virtual environment of the
    recorded packages); `data` is ``current`` (the data on disk; drift is reported) or ``recorded``
    (the data versions the run stored, see ``nbtrack.replay.data``); `cwd` is the kernel's folder
    (default: the original's when it exists here, else this process's); `out` the executed
    notebook (default: next to it). `progress` is called with (done, total) after each executed
    cell. A run that is not verifiably the caller's (`owner_warning`: someone else wrote its log
    or a snapshot, or the store cannot tell, as on a bucket) raises `ReplayRefused` saying who
    wrote what, unless ``yes=True``.
    `rng` is ``restored`` (the original's random state before each cell) or ``fresh``;
    `check_determinism` replays twice (the second into a scratch store) and marks the cells that
    differ between the two. Every difference gets a cause (``nbtrack.replay.fidelity``).
    """
    say = log or (lambda message: None)
    if env not in (CURRENT, RECREATE):
        raise ValueError(f"env must be {CURRENT!r} or {RECREATE!r}, not {env!r}")
    if env == RECREATE and kernel:
        raise ValueError("a recreated environment brings its own kernel: give either kernel or env='recreate'")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0, not {tolerance!r}")
    if data not in DATA_MODES:
        raise ValueError(f"data must be one of {', '.join(DATA_MODES)}, not {data!r}")
    parameters = check_parameters(parameters or {})
    target = as_store(store if not isinstance(run, Run) else run.store if store is None else store)
    original = run if isinstance(run, Run) else Run(target, target.resolve(run))
    warning = None if yes else owner_warning(original)
    if warning:
        raise ReplayRefused(warning + "; pass yes=True to go on")
    try:
        snapshot = original.notebook()
    except KeyError:
        raise ValueError(f"run {original.id} has no notebook snapshot: only notebook runs can be replayed") from None
    parameters = dict(parameters or {})
    built = build(snapshot, original.cells, lambda sha: original.cell_outputs({"outputs": sha}),
                  order=order, parameters=parameters,
                  run_name=original.state.name or "replay")
    notes = list(built.notes)
    environment = original.environment() or {}
    original_cwd = original.state.cwd
    folder = Path(cwd) if cwd else Path(original_cwd) if original_cwd and Path(original_cwd).is_dir() else Path.cwd()
    folder = folder.resolve()
    output = Path(out).resolve() if out else output_path_for(original.state.notebook, original.id, folder)
    # --data recorded: the run's stored data versions, written out and handed to the notebook
    plan = recorded_data(original, folder, parameters, output.with_suffix(".data")) if data == RECORDED else None
    if plan is not None:
        parameters, folder = {**plan.parameters, **parameters}, plan.cwd or folder
    built = build(snapshot, original.cells, original.store.get_json, order=order, parameters=parameters,
                  run_name=original.state.name or "replay")
    notes = list(built.notes) + (plan.notes if plan else [])
    kernel_env = dict(os.environ)
    current_packages: dict[str, str] | None = None
    wanted: dict[str, str] | None = None  # a recreated environment holds only these on purpose
    if env == RECREATE:
        sources = [c.source for c in built.nb.cells if c.cell_type == "code"]
        recreated = recreated_kernel(environment, sources, allow_missing, kernel_env)
        kernel_name, wanted = recreated.kernel_name, recreated.requirements
        notes += recreated.notes
    else:
        kernel_name = kernel or _kernel_name(original, built.nb, environment)
        if not kernel and not kernel_exists(kernel_name):
            notes.append(f"the original kernel {kernel_name!r} is not installed here: using 'python3'")
            kernel_name = "python3"
        current_packages = envs.installed_packages(envs.kernel_python(kernel_name))
        if environment and current_packages is not None:
            for row in environment_differences(environment, None, current_packages):
                say(f"environment: {row['package']} {row['original'] or '-'} in the original, "
                    f"{row['replay'] or '-'} here")
    for note in notes:
        say(note)
    built.nb.metadata["kernelspec"] = {**built.nb.metadata.get("kernelspec", {}), "name": kernel_name}
    built.nb.metadata["nbtrack"] = {"replay_of": original.id, "order": order}
    prepared = prepare(built, next(iter(original.records_of("run")), {}),
                       lambda sha: original.store.get_json(sha), rng, os.environ)
    kernel_env.update(NBTRACK_REPLAY_OF=original.id, NBTRACK_STORE=store_location(store, target),
                      NBTRACK_NOTEBOOK=str(output), **prepared.env)
    cache = HashCache(index_path(target.url).with_name("file-hashes.sqlite"))
    before = {d["path"]: fingerprint_now(d["path"], original_cwd, folder, cache) for d in original.data}
    for path, found in before.items():
        recorded = next(d["sha256"] for d in original.data if d["path"] == path)
        if found is None or found["sha256"] != recorded:
            say(f"data {path}: {'not found here' if found is None else 'differs from the original'}")

    started = time.time()
    try:
        execution = execute(built.nb, output, kernel_name=kernel_name, cwd=folder, env=kernel_env,
                            progress=progress, progress_bar=progress_bar,
                            source_label=f"nbtrack run {original.id} ({order} order)")
        second = _second_execution(built, output, kernel_name, folder, kernel_env, original.id) \
            if check_determinism else None
    finally:
        prepared.cleanup()
    after = {d["path"]: fingerprint_now(d["path"], original_cwd, folder, cache) for d in original.data}
    replayed = _find_replay_run(target, original.id, output, started, _started_in_cell(original))
    replay_id = replayed.id if replayed else _record_failure(
        target, original, output, execution.error or "no run started", execution.failure)
    if replayed is not None and parameters:
        record_missing_params(target, replayed, parameters)
    replay_env = replayed.environment() if replayed else None
    differences = environment_differences(environment, replay_env, current_packages)
    if wanted is not None:  # left out on purpose is no difference; a needed package missing is
        differences = [d for d in differences if d["kind"] == "changed" or d["package"] in wanted]
    report = Report(
        original=original.id,
        replay=replay_id,
        cells=compare_cells(built, execution.nb, execution.failed_cell, tolerance),
        metrics=compare_metrics(
            final_metrics(original.state), final_metrics(replayed.state if replayed else None), tolerance
        ),
        environment=differences,
        data=data_checks(original.state, replayed.state if replayed else None, before, after,
                         plan.used if plan else None),
        parameters=parameters,
        order=order,
        tolerance=tolerance,
        error=execution.error or (None if replayed else "the replay did not start a tracked run"),
        rng=rng,
        hash_seed=prepared.hash_seed,
        determinism_checked=second is not None,
    )
    _attribute(report, built, prepared, execution, second, tolerance, replayed)
    store_report(target, replay_id, report)
    return ReplayResult(replay_id, report, output, original.id, notes)


def _second_execution(built: Any, output: Path, kernel_name: str, folder: Path, kernel_env: Mapping[str, str],
                      original_id: str) -> tuple[Execution, dict[str, float]]:
    """The same notebook executed again, tracked into a scratch store (not the user's); its
    executed notebook and final metrics."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nbtrack-determinism-") as scratch:
        again = output.with_name(output.stem + ".second.ipynb")
        env = {**kernel_env, "NBTRACK_STORE": os.path.join(scratch, "store"),
               "NBTRACK_INDEX_DIR": os.path.join(scratch, "index"), "NBTRACK_NOTEBOOK": str(again)}
        execution = execute(built.nb, again, kernel_name=kernel_name, cwd=folder, env=env,
                            source_label=f"nbtrack run {original_id} (determinism check)")
        again.unlink(missing_ok=True)
        metrics: dict[str, float] = {}
        if os.path.isdir(env["NBTRACK_STORE"]):
            scratch_store = as_store(env["NBTRACK_STORE"])
            ids = scratch_store.run_ids()
            if ids:
                metrics = final_metrics(Run(scratch_store, ids[-1]).state)
            scratch_store.close()
    return execution, metrics


def _attribute(report: Report, built: Any, prepared: Preparation, execution: Execution,
               second: tuple[Execution, dict[str, float]] | None, tolerance: float, replayed: Run | None) -> None:
    cells = metrics = None
    if second is not None:
        cells = compare_runs(execution.nb, second[0].nb, tolerance)
        ours = final_metrics(replayed.state if replayed else None)
        metrics = {row["key"] for row in compare_metrics(ours, second[1], tolerance) if not row["agree"]}
    attribute(report, built, prepared, cells, metrics)
