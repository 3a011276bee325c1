from __future__ import annotations

import pickle
from collections.abc import Iterator

import numpy as np
import pytest

import nbtrack

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


@pytest.fixture
def autolog() -> Iterator[None]:
    from nbtrack.integrations import sklearn as integration

    integration.autolog(log_models=True)
    yield
    integration.autolog(disable=True)
    assert not hasattr(Ridge.fit, "__nbtrack_original__")


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    return x, (x[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)


def test_a_fit_alone_is_a_finished_run_with_params_fit_time_score_and_model(store, autolog):
    x, y = _data()
    model = LogisticRegression(C=0.5, max_iter=50).fit(x, y)
    (row,) = nbtrack.runs(store=store).itertuples()
    run = nbtrack.get_run(row.id, store=store)
    assert run.name == "LogisticRegression" and run.status == "finished"
    assert run.params["C"] == 0.5 and run.params["max_iter"] == 50
    assert run.params["estimator_class"] == "LogisticRegression"
    assert run.state.metrics["training_score"].last == pytest.approx(model.score(x, y))
    assert run.state.metrics["fit_time"].last > 0
    assert np.array_equal(pickle.loads(run.artifact("model.pkl")).predict(x), model.predict(x))


def test_a_pipeline_is_one_run_with_its_steps_params(store, autolog):
    x, y = _data()
    make_pipeline(StandardScaler(), Ridge(alpha=2.0)).fit(x, y)
    (row,) = nbtrack.runs(store=store).itertuples()  # the steps' own fits are part of the pipeline's
    run = nbtrack.get_run(row.id, store=store)
    assert run.params["ridge__alpha"] == 2.0 and run.params["estimator_class"] == "Pipeline"


def test_a_grid_search_is_a_parent_run_with_every_candidate_as_a_child_run(store, autolog):
    x, y = _data()
    search = GridSearchCV(LogisticRegression(max_iter=50), {"C": [0.1, 1.0, 10.0]}, cv=3).fit(x, y)
    frame = nbtrack.runs(store=store)
    parents = frame[frame["params"].map(lambda p: p.get("estimator_class") == "GridSearchCV")]
    assert len(parents) == 1 and len(frame) == 4
    parent = nbtrack.get_run(parents["id"].iloc[0], store=store)
    assert parent.params["best.C"] == search.best_params_["C"] and parent.params["candidates"] == 3
    assert parent.state.metrics["best_cv_score"].last == pytest.approx(search.best_score_)
    children = [nbtrack.get_run(i, store=store) for i in frame["id"] if i != parent.id]
    assert {c.state.parent for c in children} == {parent.id}
    assert all(c.status == "finished" for c in children)
    by_c = {c.params["C"]: c for c in children}
    assert sorted(by_c) == [0.1, 1.0, 10.0]
    for i, candidate in enumerate(search.cv_results_["params"]):
        child = by_c[candidate["C"]]
        assert child.params["candidate"] == i
        for column in ("mean_test_score", "std_test_score", "rank_test_score", "split2_test_score"):
            assert child.state.metrics[column].last == pytest.approx(search.cv_results_[column][i])
    assert len(nbtrack.runs(f"parent={parent.id}", store=store)) == 3  # tables can filter a search's candidates


def test_a_randomized_search_inside_an_active_run_hangs_its_candidates_under_it(store, autolog):
    x, y = _data()
    with nbtrack.start("notebook") as active:
        RandomizedSearchCV(Ridge(), {"alpha": [0.01, 0.1, 1.0, 10.0]}, n_iter=2, cv=2, random_state=0).fit(x, y)
        assert nbtrack.active_run() is active
    frame = nbtrack.runs(store=store)
    assert len(frame) == 3
    children = nbtrack.runs(f"parent={active.id}", store=store)
    assert len(children) == 2
    assert nbtrack.get_run(active.id, store=store).params["estimator_class"] == "RandomizedSearchCV"


def test_a_failing_fit_fails_its_run_and_raises_as_before(store, autolog):
    with pytest.raises(ValueError):
        LogisticRegression().fit(np.zeros((4, 2)), [0, 0, 0, 0])  # one class only
    (row,) = nbtrack.runs(store=store).itertuples()
    assert row.status == "failed"


def test_a_failure_of_the_recording_never_reaches_the_users_fit(store, autolog, monkeypatch):
    from nbtrack.integrations import scope

    def broken(self, *args, **kwargs):
        raise OSError("store unreachable")

    monkeypatch.setattr(scope.TrainingRun, "params", broken)
    monkeypatch.setattr(scope, "_reported", set())
    x, y = _data()
    with pytest.warns(RuntimeWarning, match="store unreachable"):
        model = LogisticRegression().fit(x, y)
    assert model.score(x, y) > 0.5  # fitted as without nbtrack
    with pytest.raises(ValueError):  # and the user's own errors still reach the user
        LogisticRegression().fit(np.zeros((4, 2)), [0, 0, 0, 0])
