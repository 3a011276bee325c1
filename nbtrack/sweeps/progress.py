"""A sweep's progress and leaderboard, as data: the one read path of the REST route, the notebook
widget, the trials DataFrame, the terminal bar and the summary table."""

from __future__ import annotations

import math
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from nbtrack.core.sweep_spec import MAXIMIZE
from nbtrack.core.sweep_state import CANCELLED, CRASHED, DONE, FAILED, FINISHED, PENDING, RUNNING, SweepState

SHOWN_ATTEMPT_ERROR = 300  # characters of an attempt's error kept in a payload


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _clip(error: str | None) -> str | None:
    return error[:SHOWN_ATTEMPT_ERROR] if error else None


def trial_rows(state: SweepState) -> list[dict[str, Any]]:
    """One row per trial, in trial order: status, parameters, the run of its last attempt, the
    final metric values it reported, the objective's value, and every attempt."""
    metric = state.spec.objective.metric if state.spec.objective else None
    rows = []
    for index, trial in sorted(state.trials.items()):
        last = trial.last
        metrics = dict(last.metrics) if last else {}
        value = metrics.get(metric) if metric else None
        rows.append({
            "trial": index,
            "status": state.trial_status(trial),
            "params": dict(trial.params),
            "run": last.run if last else None,
            "metrics": metrics,
            "value": value if value is None or math.isfinite(value) else None,
            "error": _clip(last.error) if last else None,
            "attempts": [
                {"attempt": a.id, "run": a.run, "status": state.trial_status(trial) if a is last else a.status,
                 "host": a.host, "started": _iso(a.started), "ended": _iso(a.ended),
                 "error": _clip(a.error)}
                for a in trial.attempts
            ],
        })
    return rows


def best_row(state: SweepState, rows: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The finished trial with the best objective value (None without an objective)."""
    objective = state.spec.objective
    if objective is None:
        return None
    scored = [r for r in (rows or trial_rows(state)) if r["status"] == FINISHED and r["value"] is not None]
    if not scored:
        return None
    pick = max if objective.direction == MAXIMIZE else min
    return pick(scored, key=lambda r: r["value"])


def progress(state: SweepState) -> dict[str, Any]:
    """The REST API's ``SweepProgress`` (docs/rest-api.md) and what the widget shows."""
    rows = trial_rows(state)
    counts = state.counts()
    best = best_row(state, rows)
    return {
        "id": state.id, "name": state.name, "status": state.status(), "user": state.user, "host": state.host,
        "created": _iso(state.created), "tags": list(state.tags), "notebook": state.notebook.get("path"),
        "search": state.spec.search, "seed": state.spec.seed, "spec": state.spec.to_json(),
        "objective": state.spec.objective.text() if state.spec.objective else None,
        "total": state.total, "done": sum(counts[s] for s in DONE), "counts": counts,
        "best": None if best is None else {"trial": best["trial"], "run": best["run"], "value": best["value"]},
        "trials": rows,
    }


def counts_text(state: SweepState) -> str:
    counts = state.counts()
    done = sum(counts[s] for s in DONE)
    parts = [f"{done}/{state.total} done"]
    parts += [f"{counts[s]} {s}" for s in (RUNNING, FAILED, CRASHED, CANCELLED) if counts[s]]
    return ", ".join(parts)


class TerminalProgress:
    """A progress bar on a terminal (tqdm; `bar` None: when `stream` is one); else one line each
    time a trial ends."""

    def __init__(self, stream: TextIO | None = None, bar: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.use_bar = self.stream.isatty() if bar is None else bar
        self.bar: Any = None
        self.ended: set[tuple[int, str]] = set()

    def __call__(self, state: SweepState) -> None:
        counts = state.counts()
        done = sum(counts[s] for s in DONE)
        if self.use_bar:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=state.total, unit="trial", desc=f"sweep {state.id}", file=self.stream)
            self.bar.total = state.total
            self.bar.n = done
            self.bar.set_postfix_str(", ".join(f"{counts[s]} {s}" for s in (RUNNING, FAILED, CRASHED) if counts[s]))
            return
        for index, trial in sorted(state.trials.items()):
            status = state.trial_status(trial)
            if status in (*DONE, CANCELLED) and (index, status) not in self.ended and status != PENDING:
                self.ended.add((index, status))
                run = trial.last.run if trial.last else None
                print(f"nbtrack: trial {index} {status}" + (f" (run {run})" if run else "")
                      + f"; {counts_text(state)}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

