"""Keras 3: ``model.fit(..., callbacks=[NbtrackCallback()])``.

Logs the fit's settings (epochs, steps per epoch, batch size when known, the optimizer's name
and configuration, the model's parameter count), every epoch's metrics at ``step=epoch``
(``loss``, ``val_loss``, ...), each batch's metrics under ``batch/`` every `log_every_n_batches`
batches (at the global batch number), and the trained model as ``model.keras`` when `log_model`.
Keras picks its backend from ``KERAS_BACKEND`` before it is first imported (``torch`` keeps the
install light on CPU).
"""

from __future__ import annotations

from typing import Any

import keras

from nbtrack.integrations.scope import TrainingRun, flatten, guarded


class NbtrackCallback(keras.callbacks.Callback):
    def __init__(self, name: str | None = None, log_model: bool = False, log_every_n_batches: int | None = None,
                 tags: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.scope = TrainingRun(name, tags)
        self.log_model = log_model
        self.log_every_n_batches = log_every_n_batches
        self._batches = 0
        self._epochs_done = 0

    @guarded
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.scope.begin("keras " + (self.model.name or "model"))
        self._batches = 0
        settings = dict(self.params or {})
        values: dict[str, Any] = {k: settings[k] for k in ("epochs", "steps", "batch_size") if settings.get(k)}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            config = optimizer.get_config()
            values["optimizer"] = type(optimizer).__name__
            values.update(flatten({k: v for k, v in config.items() if k != "name"}, "optimizer."))
        values["model"] = type(self.model).__name__
        values["model.params"] = int(self.model.count_params())
        self.scope.params(values)

    @guarded
    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches += 1
        every = self.log_every_n_batches
        if every and self._batches % every == 0:
            self.scope.log(self._batches, logs or {}, prefix="batch/")

    @guarded
    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epochs_done = epoch + 1
        self.scope.log(epoch, logs or {})

    @guarded
    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        try:
            self.scope.params({"epochs_trained": self._epochs_done})
            if self.log_model:
                self.scope.model("model.keras", lambda path: self.model.save(path))
        finally:
            self.scope.end()
