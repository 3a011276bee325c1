from __future__ import annotations

import numpy as np
import pytest

import nbtrack
from tests.integrations.conftest import only_run, points

keras = pytest.importorskip("keras")


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    return model


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_a_fit_alone_is_one_finished_run_with_settings_epochs_batches_and_the_model(store: str, tmp_path) -> None:
    from nbtrack.integrations.keras import NbtrackCallback

    x, y = _data()
    history = _model().fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
                           callbacks=[NbtrackCallback(name="tiny", log_model=True, log_every_n_batches=1)])
    run = only_run(store)
    assert run.name == "tiny" and run.status == "finished"
    assert run.params["epochs"] == 3 and run.params["epochs_trained"] == 3
    assert run.params["optimizer"] == "Adam"
    assert run.params["optimizer.learning_rate"] == pytest.approx(0.01)
    assert run.params["model.params"] == 4 * 8 + 8 + 8 + 1
    assert points(run, "loss") == ([0, 1, 2], pytest.approx(history.history["loss"]))
    assert points(run, "val_mae") == ([0, 1, 2], pytest.approx(history.history["val_mae"]))
    assert points(run, "batch/loss")[0] == list(range(1, 3 * 3 + 1))  # 24 training samples / 8 a batch
    model = keras.saving.load_model(run.artifact_path("model.keras", tmp_path))
    assert model.count_params() == run.params["model.params"]
    assert [a["kind"] for a in run.artifacts] == ["model"]


def test_inside_an_active_run_the_fit_joins_it_and_leaves_it_running(store: str) -> None:
    from nbtrack.integrations.keras import NbtrackCallback

    x, y = _data()
    with nbtrack.start("notebook run", params={"data": "synthetic"}) as active:
        _model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[NbtrackCallback()])
        assert nbtrack.active_run() is active
    run = only_run(store)
    assert run.id == active.id and run.name == "notebook run"
    assert run.params["data"] == "synthetic" and run.params["epochs"] == 2
    assert points(run, "loss")[0] == [0, 1]


def test_a_failure_of_the_callback_is_reported_once_and_never_stops_training(store: str, monkeypatch) -> None:
    from nbtrack.integrations import scope
    from nbtrack.integrations.keras import NbtrackCallback

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(scope.TrainingRun, "log", broken)
    monkeypatch.setattr(scope, "_reported", set())
    x, y = _data()
    with pytest.warns(RuntimeWarning, match="disk full") as caught:
        history = _model().fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[NbtrackCallback()])
    assert len(history.history["loss"]) == 3  # every epoch trained
    assert len([w for w in caught if "disk full" in str(w.message)]) == 1
