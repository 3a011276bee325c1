"""Batch replay: every run matching a filter replayed at once (``nbtrack replay --filter``), on
the executors sweeps use, as a regression guard after an upgrade: one row per run with its
verdict and the first cause of a difference.

Each replay is ``nbtrack.replay`` itself, run where a worker is (``replay_one``): a new run linked
to its original, with its report stored. Replays of replays and runs still running are left out,
and so are runs without a notebook snapshot (scripts cannot be replayed); the caller says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nbtrack.api import Run, as_store, rows
from nbtrack.core.records import RUNNING
from nbtrack.core.reproduce import DIFFERENT, EXIT_CODES, FAILED, NOT_RUN, WITHIN, Report
from nbtrack.store.store import Store
from nbtrack.sweeps.executors import Executor

CAUSE_LENGTH = 160


@dataclass(frozen=True)
class ReplayTask:
    store: str
    run: str
    order: str = "notebook"
    kernel: str | None = None
    env: str = "current"
    data: str = "current"  # or "recorded": the data versions the run stored
    allow_missing: bool = False
    tolerance: float = 1e-6
    rng: str = "restored"  # or "fresh": no random state restored
    check_determinism: bool = False


@dataclass(frozen=True)
class ReplayRow:
    run: str
    name: str
    verdict: str
    cause: str
    replay: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.verdict, EXIT_CODES[FAILED])


def _line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= CAUSE_LENGTH else first[: CAUSE_LENGTH - 1] + "…"


def cause_of(report: Report) -> str:
    """The first reason a replay is not an exact reproduction, in one line ("" when it is)."""
    if report.error:
        return _line(report.error)
    for status in (DIFFERENT, NOT_RUN, WITHIN):
        for cell in report.cells:
            if cell.status == status:
                detail = _line(cell.differences[0]) if cell.differences else ""
                cause = f" ({cell.cause})" if cell.cause else ""
                return f"cell {cell.index + 1} {status}{cause}" + (f": {detail}" if detail else "")
        for metric in report.metrics:
            if metric["status"] == status:
                cause = f" ({metric['cause']})" if metric.get("cause") else ""
                return f"metric {metric['key']}{cause}: {metric['original']} then {metric['replay']}"
    return ""


def replay_one(task: ReplayTask) -> ReplayRow:
    """Replay one run where this runs (a pool process, a Dask worker); never raises."""
    from nbtrack.replay.runner import replay

    name = ""
    try:
        original = Run(as_store(task.store), task.run)
        name = original.name
        # yes: whose runs these are was shown and confirmed before the batch was submitted
        result = replay(original, order=task.order, kernel=task.kernel, env=task.env, data=task.data,
                        tolerance=task.tolerance, allow_missing=task.allow_missing, store=task.store, yes=True,
                        rng=task.rng, check_determinism=task.check_determinism)
        return ReplayRow(task.run, name, result.verdict, cause_of(result.report), result.run_id)
    except Exception as exc:
        return ReplayRow(task.run, name, FAILED, _line(f"{type(exc).__name__}: {exc}"))


def replayable(store: Store, filter_text: str) -> tuple[list[Run], list[str]]:
    """The runs a batch replays (matching, finished, originals with a notebook snapshot), and
    notes on those it leaves out."""
    found, notes = [], []
    skipped: dict[str, list[str]] = {"are replays themselves": [], "are still running": [],
                                     "have no notebook snapshot": []}
    for row in rows(store, filter_text):
        if row.replay_of:
            skipped["are replays themselves"].append(row.id)
        elif row.status == RUNNING:
            skipped["are still running"].append(row.id)
        elif not Run(store, row.id).snapshots:
            skipped["have no notebook snapshot"].append(row.id)
        else:
            found.append(Run(store, row.id))
    for why, ids in skipped.items():
        if ids:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            notes.append(f"{len(ids)} matching runs {why}: left out ({shown})")
    return found, notes


def replay_batch(executor: Executor, tasks: list[ReplayTask],
                 on_row: Callable[[ReplayRow, int, int], None] | None = None) -> list[ReplayRow]:
    """Replay every task on `executor` (all submitted at once: the pool or the scheduler queues
    them); rows in the tasks' order. `on_row(row, done, total)` as each ends."""
    futures = {executor.submit(replay_one, task, f"nbtrack-replay-{task.run}"): task for task in tasks}
    results: dict[str, ReplayRow] = {}
    pending = set(futures)
    try:
        while pending:
            for future in executor.wait(list(pending), 1.0):
                pending.discard(future)
                task = futures[future]
                try:
                    row = future.result()
                except Exception as exc:  # the worker died (after Dask's own retries)
                    row = ReplayRow(task.run, "", FAILED, _line(f"the worker running it died: {exc!r}"))
                results[task.run] = row
                if on_row:
                    on_row(row, len(results), len(tasks))
    except KeyboardInterrupt:
        for future in pending:
            future.cancel()
        raise
    return [results[t.run] for t in tasks if t.run in results]

