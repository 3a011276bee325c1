"""LightGBM: ``lgb.train(params, train_set, valid_sets=[...], callbacks=[callback()])``.

Logs the parameters LightGBM trains with and the number of rounds, each iteration's
evaluation results at ``step=iteration`` (``valid_0-l2``, ``training-auc``; ``...-stdv`` too in
``lgb.cv``), and when `log_model` the booster as ``model.txt`` after the last iteration.
A run the callback started is finished after the last iteration; when early stopping ends
training sooner, LightGBM calls no callback again, so that run is finished by the next run
that starts (or when the process exits): start one yourself (``with nbtrack.start(...)``) to
bound it.
"""

from __future__ import annotations

from typing import Any

from nbtrack.integrations.scope import TrainingRun, guarded


class NbtrackCallback:
    """A LightGBM callback (called after each iteration with LightGBM's ``CallbackEnv``)."""

    order = 20  # before early stopping (30): the iteration that stops training is still logged
    before_iteration = False

    def __init__(self, name: str | None = None, log_model: bool = False, tags: tuple[str, ...] = ()) -> None:
        self.scope = TrainingRun(name, tags)
        self.log_model = log_model

    @guarded
    def __call__(self, env: Any) -> None:
        if env.iteration == env.begin_iteration:
            self.scope.begin("lightgbm")
            self.scope.params({**dict(env.params), "num_boost_round": env.end_iteration - env.begin_iteration})
        values: dict[str, float] = {}
        for entry in env.evaluation_result_list or []:
            data, metric, value = entry[0], entry[1], entry[2]
            values[f"{data}-{metric}"] = value
            if len(entry) > 4:  # lgb.cv: (data, metric, mean, higher_better, stdv)
                values[f"{data}-{metric}-stdv"] = entry[4]
        self.scope.log(env.iteration, values)
        if env.iteration + 1 >= env.end_iteration:
            try:
                if self.log_model and hasattr(env.model, "model_to_string"):
                    self.scope.model("model.txt", lambda path: path.write_text(env.model.model_to_string()))
            finally:
                self.scope.end()


def callback(name: str | None = None, log_model: bool = False, tags: tuple[str, ...] = ()) -> NbtrackCallback:
    """The LightGBM callback that logs to nbtrack (see the module's documentation)."""
    return NbtrackCallback(name, log_model, tags)
