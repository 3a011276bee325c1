"""XGBoost: ``xgb.train(params, dtrain, evals=[...], callbacks=[NbtrackCallback()])``, or
``XGBClassifier(callbacks=[NbtrackCallback()])`` (a ``TrainingCallback``).

Logs the booster's training parameters as XGBoost resolved them (objective, eta, max_depth,
subsample, ..., plus any `params` given), each round's evaluation results at ``step=round``
(``train-rmse``, ``valid-logloss``; ``...-std`` too in ``xgb.cv``), the number of rounds, and
when `log_model` the booster as ``model.ubj``.
"""

from __future__ import annotations

import json
from typing import Any

from xgboost.callback import TrainingCallback

from nbtrack.core.values import read_number
from nbtrack.integrations.scope import TrainingRun, guarded

SECTIONS = ("learner_train_param", "learner_model_param", "tree_train_param", "generic_param")


def _resolved_params(booster: Any) -> dict[str, Any]:
    """The parameters in the booster's saved configuration, numbers as numbers."""
    try:
        config = json.loads(booster.save_config())
    except Exception:  # a cv's packed boosters, or an older XGBoost: only what was given
        return {}
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SECTIONS and isinstance(value, dict):
                    found.update({k: read_number(v) for k, v in value.items() if isinstance(v, str)})
                else:
                    walk(value)

    walk(config.get("learner", {}))
    return found


class NbtrackCallback(TrainingCallback):
    def __init__(self, name: str | None = None, log_model: bool = False, params: dict[str, Any] | None = None,
                 tags: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.scope = TrainingRun(name, tags)
        self.log_model = log_model
        self.given = dict(params or {})
        self._rounds = 0

    @guarded
    def before_training(self, model: Any) -> Any:
        self.scope.begin("xgboost")
        self._rounds = 0
        self.scope.params({**_resolved_params(model), **self.given})
        return model

    @guarded
    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[Any]]]) -> bool:
        values: dict[str, float] = {}
        for data, metrics in evals_log.items():
            for metric, history in metrics.items():
                last = history[-1]
                if isinstance(last, tuple):
                    values[f"{data}-{metric}"], values[f"{data}-{metric}-std"] = last
                else:
                    values[f"{data}-{metric}"] = last
        self._rounds = epoch + 1
        self.scope.log(epoch, values)
        return False

    @guarded
    def after_training(self, model: Any) -> Any:
        try:
            self.scope.params({"num_boost_round": self._rounds})
            if self.log_model and hasattr(model, "save_raw"):
                self.scope.model("model.ubj", lambda path: path.write_bytes(bytes(model.save_raw("ubj"))))
        finally:
            self.scope.end()
        return model
