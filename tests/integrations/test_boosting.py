"""XGBoost and LightGBM: a few boosting rounds on a tiny regression."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrack
from tests.integrations.conftest import only_run, points


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    return x, x @ [1.0, -2.0, 0.5] + rng.normal(scale=0.1, size=60)


def test_xgboost_training_alone_records_resolved_params_every_round_and_the_booster(store, tmp_path):
    xgb = pytest.importorskip("xgboost")
    from nbtrack.integrations.xgboost import NbtrackCallback

    x, y = _data()
    train, valid = xgb.DMatrix(x[:40], y[:40]), xgb.DMatrix(x[40:], y[40:])
    history: dict = {}
    booster = xgb.train({"eta": 0.3, "max_depth": 2, "objective": "reg:squarederror"}, train, num_boost_round=5,
                        evals=[(train, "train"), (valid, "valid")], evals_result=history, verbose_eval=False,
                        callbacks=[NbtrackCallback(name="xgb", log_model=True)])
    run = only_run(store)
    assert run.name == "xgb" and run.status == "finished"
    assert run.params["eta"] == pytest.approx(0.3) and run.params["max_depth"] == 2
    assert run.params["objective"] == "reg:squarederror" and run.params["num_boost_round"] == 5
    assert points(run, "valid-rmse") == ([0, 1, 2, 3, 4], pytest.approx(history["valid"]["rmse"]))
    assert points(run, "train-rmse")[0] == [0, 1, 2, 3, 4]
    loaded = xgb.Booster(model_file=str(run.artifact_path("model.ubj", tmp_path)))
    assert np.allclose(loaded.predict(valid), booster.predict(valid))


def test_xgboost_sklearn_api_inside_an_active_run_joins_it(store):
    xgb = pytest.importorskip("xgboost")
    from nbtrack.integrations.xgboost import NbtrackCallback

    x, y = _data()
    with nbtrack.start("notebook") as active:
        xgb.XGBRegressor(n_estimators=3, max_depth=2, callbacks=[NbtrackCallback()]).fit(
            x, y, eval_set=[(x, y)], verbose=False)
        assert nbtrack.active_run() is active
    run = only_run(store)
    assert run.id == active.id and run.params["max_depth"] == 2
    assert points(run, "validation_0-rmse")[0] == [0, 1, 2]


def test_lightgbm_training_alone_records_params_every_iteration_and_the_model(store, tmp_path):
    lgb = pytest.importorskip("lightgbm")
    from nbtrack.integrations.lightgbm import callback

    x, y = _data()
    history: dict = {}
    params = {"objective": "regression", "learning_rate": 0.2, "num_leaves": 4, "min_data_in_leaf": 5,
              "verbose": -1}
    train = lgb.Dataset(x[:40], y[:40])
    booster = lgb.train(params, train, num_boost_round=4, valid_sets=[lgb.Dataset(x[40:], y[40:], reference=train)],
                        callbacks=[callback(name="lgb", log_model=True), lgb.record_evaluation(history)])
    run = only_run(store)
    assert run.name == "lgb" and run.status == "finished"
    assert run.params["learning_rate"] == 0.2 and run.params["num_leaves"] == 4
    assert run.params["num_boost_round"] == 4
    assert points(run, "valid_0-l2") == ([0, 1, 2, 3], pytest.approx(history["valid_0"]["l2"]))
    loaded = lgb.Booster(model_file=str(run.artifact_path("model.txt", tmp_path)))
    assert np.allclose(loaded.predict(x), booster.predict(x))
