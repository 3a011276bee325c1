"""Lightning: ``Trainer(logger=NbtrackLogger())`` (a ``lightning.pytorch`` ``Logger``).

Logs the module's (and data module's) hyper-parameters as Lightning hands them over, the
trainer's settings (max epochs and steps, the optimizers with their learning rates, the
precision), every ``self.log(...)`` at its global step (Lightning adds ``epoch``), and when
`log_model` the best checkpoint (else the last) as an artifact. A run it started is finished
when training ends: ``finished`` on success, ``failed`` when the fit raised.
"""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from lightning.fabric.utilities.logger import _convert_params, _sanitize_callable_params
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from nbtrack.integrations.scope import TrainingRun, flatten, guarded


class NbtrackLogger(Logger):
    def __init__(self, name: str | None = None, log_model: bool = False, tags: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.scope = TrainingRun(name, tags)
        self.log_model = log_model
        self._checkpoint: Any = None

    @property
    def name(self) -> str:
        return "nbtrack"

    @property
    def version(self) -> str | None:
        run = self.scope.run
        return run.id if run is not None else None

    @rank_zero_only
    @guarded
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        self.scope.begin("lightning")
        values = _sanitize_callable_params(_convert_params(params))
        self.scope.params(flatten(values))

    @rank_zero_only
    @guarded
    def log_graph(self, model: Any, input_array: Any = None) -> None:
        """Called by the trainer with the module once it is set up: the trainer's settings."""
        trainer = getattr(model, "_trainer", None)
        if trainer is None:
            return
        self.scope.begin("lightning")
        values: dict[str, Any] = {"max_epochs": trainer.max_epochs, "max_steps": trainer.max_steps,
                                  "precision": str(trainer.precision), "model": type(model).__name__}
        for i, optimizer in enumerate(trainer.optimizers):
            prefix = "optimizer" if i == 0 else f"optimizer{i}"
            values[prefix] = type(optimizer).__name__
            group = optimizer.param_groups[0] if optimizer.param_groups else {}
            values.update({f"{prefix}.{k}": v for k, v in group.items() if k != "params"})
        self.scope.params(flatten(values))

    @rank_zero_only
    @guarded
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.scope.begin("lightning")
        self.scope.log(step, metrics)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        self._checkpoint = checkpoint_callback

    @rank_zero_only
    @guarded
    def finalize(self, status: str) -> None:
        if self.scope.run is None:
            return
        try:
            if self.log_model and status == "success" and self._checkpoint is not None:
                path = self._checkpoint.best_model_path or self._checkpoint.last_model_path
                if path:
                    self.scope.run.log_artifact(path, "model.ckpt", kind="model")
        finally:
            self.scope.end(None if status in ("success", "finished") else f"training {status}")
