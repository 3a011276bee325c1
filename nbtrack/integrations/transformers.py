"""Hugging Face Transformers: ``Trainer(..., callbacks=[NbtrackCallback()])`` (a ``TrainerCallback``).

Logs the training arguments that shape a run (learning rate, epochs, batch size, optimizer,
schedule, seed, ...), the planned number of steps, the model's class and configuration (under
``model.``), every ``on_log`` at the global step (loss, learning rate, grad norm, epoch, eval
metrics), and when `log_model` the trained model as saved by ``save_pretrained`` (under
``model/``). Only the main process writes.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from nbtrack.integrations.scope import TrainingRun, flatten, guarded

ARGUMENTS = ("learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
             "per_device_eval_batch_size", "gradient_accumulation_steps", "optim", "weight_decay", "adam_beta1",
             "adam_beta2", "adam_epsilon", "max_grad_norm", "lr_scheduler_type", "warmup_steps", "warmup_ratio",
             "seed", "fp16", "bf16", "eval_strategy", "logging_steps")


class NbtrackCallback(TrainerCallback):
    def __init__(self, name: str | None = None, log_model: bool = False, tags: tuple[str, ...] = ()) -> None:
        self.scope = TrainingRun(name, tags)
        self.log_model = log_model

    @guarded
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        self.scope.begin(args.run_name or "transformers")
        settings = args.to_dict()
        values: dict[str, Any] = {k: settings[k] for k in ARGUMENTS if k in settings}
        values["total_steps"] = state.max_steps
        if model is not None:
            values["model"] = type(model).__name__
            config = getattr(model, "config", None)
            if config is not None:
                values.update(flatten(config.to_diff_dict(), "model."))
        self.scope.params(values)

    @guarded
    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self.scope.begin(args.run_name or "transformers")
            self.scope.log(state.global_step, logs or {})

    @guarded
    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        try:
            if self.log_model and model is not None:
                self.scope.model("model", lambda path: model.save_pretrained(path))
        finally:
            self.scope.end()
