"""Bayesian search through Optuna (``--search optuna``), driven with its ask-and-tell interface.

The study lives in the driver's process: each free slot asks it for a trial (``study.ask`` with
the sweep's dimensions as Optuna distributions), and each trial's outcome is told back (its final
value of the objective metric; failed, crashed and cancelled trials as ``FAIL``, pruned ones as
``PRUNED``). Sampling is Optuna's TPE sampler, seeded with the sweep's seed and with
``constant_liar`` so that trials running at once are not all asked at one point; pruning is
Optuna's median pruner, fed with the objective's intermediate values (every ``nbtrack.log`` step
of the running trial's run, read from the store as it grows). A pruned trial's kernel is
interrupted through a ``stop`` event. A resumed sweep adds its finished trials to the new study
first, so the search goes on from what it learnt.
"""

from __future__ import annotations

import collections
import math
from typing import Any

from nbtrack.core.series import decode_metrics
from nbtrack.core.sweep_spec import LOGUNIFORM, MAXIMIZE, VALUES, Dimension, Spec
from nbtrack.core.sweep_state import FINISHED, PRUNED, RUNNING, SweepState
from nbtrack.store.store import Store
from nbtrack.sweeps.trial import TrialOutcome


class OptunaMissing(ImportError):
    pass


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise OptunaMissing("--search optuna needs Optuna: pip install 'nbtrack[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distribution(dim: Dimension) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    if dim.kind == VALUES:
        return CategoricalDistribution(list(dim.values))
    return FloatDistribution(dim.low, dim.high, log=dim.kind == LOGUNIFORM)


class OptunaSearch:
    """The `Search` of ``nbtrack.sweeps.driver`` for an Optuna study."""

    def __init__(self, spec: Spec, store: Store, state: SweepState | None = None) -> None:
        optuna = _optuna()
        assert spec.objective is not None
        self.optuna, self.store, self.objective = optuna, store, spec.objective
        self.fixed = dict(spec.fixed)
        self.distributions = {d.name: distribution(d) for d in spec.dimensions}
        self.study = optuna.create_study(
            direction="maximize" if spec.objective.direction == MAXIMIZE else "minimize",
            sampler=optuna.samplers.TPESampler(seed=spec.seed, constant_liar=True),
            pruner=optuna.pruners.MedianPruner(),
        )
        self.live: dict[int, Any] = {}  # our trial index -> Optuna's trial
        self.retries: collections.deque[tuple[int, dict[str, Any]]] = collections.deque()
        self.reported: dict[int, set[int]] = {}
        self.offsets: dict[str, int] = {}  # run -> how far its log was read
        self.next = 0
        done = 0
        for index, trial in sorted((state.trials if state else {}).items()):
            self.next = index + 1
            status = state.trial_status(trial) if state else None
            value = trial.last.metrics.get(self.objective.metric) if trial.last else None
            if status == FINISHED and value is not None and math.isfinite(value):
                swept = {k: v for k, v in trial.params.items() if k in self.distributions}
                self.study.add_trial(optuna.trial.create_trial(params=swept, distributions=self.distributions,
                                                               value=value))
            if status in (FINISHED, PRUNED):
                done += 1
        self.remaining = max(int(spec.count or 0) - done, 0)

    def has_more(self) -> bool:
        return bool(self.retries) or self.remaining > 0

    def ask(self) -> tuple[int, dict[str, Any]]:
        if self.retries:
            return self.retries.popleft()
        trial = self.study.ask(self.distributions)
        index, self.next = self.next, self.next + 1
        self.remaining -= 1
        self.live[index] = trial
        return index, {**self.fixed, **trial.params}

    def retry(self, index: int, params: dict[str, Any]) -> None:
        self.retries.appendleft((index, params))

    def tell(self, outcome: TrialOutcome) -> None:
        trial = self.live.pop(outcome.trial, None)
        if trial is None:
            return
        states = self.optuna.trial.TrialState
        value = outcome.metrics.get(self.objective.metric)
        if outcome.status == FINISHED and value is not None and math.isfinite(value):
            self.study.tell(trial, value)
        else:
            self.study.tell(trial, state=states.PRUNED if outcome.status == PRUNED else states.FAIL)

    def to_stop(self, state: SweepState) -> list[str]:
        """Attempts to stop: running trials the pruner gives up on, after reporting the objective's
        new intermediate values to their Optuna trials."""
        stop = []
        for index, trial in self.live.items():
            attempt = state.trials[index].last if index in state.trials else None
            if attempt is None or attempt.status != RUNNING or not attempt.run or attempt.stopping:
                continue
            seen = self.reported.setdefault(index, set())
            for step, value in self._new_points(attempt.run):
                if int(step) not in seen and math.isfinite(value):
                    seen.add(int(step))
                    trial.report(value, int(step))
            if seen and trial.should_prune():
                stop.append(attempt.id)
        return stop

    def _new_points(self, run_id: str) -> list[tuple[float, float]]:
        log = self.store.read_run(run_id, offset=self.offsets.get(run_id, 0), annotations=False)
        self.offsets[run_id] = log.end
        points = []
        for record in log.records:
            if record.get("t") == "metrics" and self.objective.metric in record.get("keys", []):
                keys, steps, _times, columns = decode_metrics(record)
                points += list(zip(steps, columns[keys.index(self.objective.metric)]))
        return points

    def clear(self) -> None:
        self.remaining = 0
        self.retries.clear()

    def best(self) -> dict[str, Any] | None:
        try:
            best = self.study.best_trial
        except ValueError:
            return None
        return {"params": dict(best.params), "value": best.value}
