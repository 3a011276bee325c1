"""Optuna: ``study.optimize(objective, n_trials=..., callbacks=[NbtrackCallback()])``.

Every finished trial becomes a run of its own, written when the trial ends: the trial's
parameters (and user attributes, under ``user_attrs.``), its objective value as `metric_name`
(``metric_name[i]`` for each objective of a multi-objective study), the values it reported
along the way as ``intermediate_value`` at their steps, its start and end, and its state (a
failed trial is a failed run; a pruned one is tagged ``pruned``). Inside an active run (``%nbtrack
start``) each trial's run names it as ``parent``, and the active run gets ``value`` and
``best_value`` at ``step=trial number`` and the best parameters so far (``best.<name>``).
"""

from __future__ import annotations

import time
from typing import Any, cast

import optuna

from nbtrack.api.whole import WholeRun
from nbtrack.core.identity import host_fields
from nbtrack.core.ids import new_run_id
from nbtrack.core.records import FAILED, FINISHED
from nbtrack.integrations.scope import guarded, plain
from nbtrack.store.store import Store, open_store


def _epoch(moment: Any, default: float) -> float:
    return moment.timestamp() if moment is not None else default


class NbtrackCallback:
    def __init__(self, metric_name: str = "value", store: str | None = None, tags: tuple[str, ...] = ()) -> None:
        self.metric_name = metric_name
        self.store = store
        self.tags = list(tags)
        self._best: float | None = None

    @guarded
    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        import nbtrack

        parent = nbtrack.active_run()
        store = cast(Store, parent.store) if parent is not None else open_store(self.store)
        now = time.time()
        started = _epoch(trial.datetime_start, now)
        ended = _epoch(getattr(trial, "datetime_complete", None), now)
        state = trial.state.name.lower()
        header: dict[str, Any] = {k: v for k, v in host_fields().items() if k in ("user", "host", "platform")}
        header.update(name=f"{study.study_name} trial {trial.number}", tags=["optuna", *self.tags],
                      parent=parent.id if parent is not None else None)
        run = WholeRun(new_run_id(started), started, {k: v for k, v in header.items() if v is not None})
        run.params({**{k: plain(v) for k, v in trial.params.items()}, "study": study.study_name,
                    "trial": trial.number, **{f"user_attrs.{k}": plain(v) for k, v in trial.user_attrs.items()}})
        steps = sorted(trial.intermediate_values)
        run.metric("intermediate_value", steps, [ended] * len(steps), [trial.intermediate_values[s] for s in steps])
        run.metrics_at(trial.number, self._values(trial), ended)
        if state == "pruned":
            run.tags(["pruned"], ended)
        failed = state == "fail"
        run.write(store, ended, FAILED if failed else FINISHED, "the trial failed" if failed else None)
        if parent is not None:
            self._record_on_parent(parent, study, trial)

    def _values(self, trial: optuna.trial.FrozenTrial) -> dict[str, float]:
        values = trial.values or []
        if len(values) == 1:
            return {self.metric_name: float(values[0])}
        return {f"{self.metric_name}[{i}]": float(v) for i, v in enumerate(values)}

    def _record_on_parent(self, parent: Any, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        values = self._values(trial)
        if len(study.directions) == 1:
            try:
                best = study.best_trial
            except ValueError:  # no trial has completed yet
                best = None
            if best is not None:
                values["best_value"] = float(cast(float, best.value))
                if best.number == trial.number:
                    parent.log_params(**{f"best.{k}": plain(v) for k, v in best.params.items()})
        if values:
            parent.log(trial.number, **values)
