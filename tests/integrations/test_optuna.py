from __future__ import annotations

import pytest

import nbtrack

optuna = pytest.importorskip("optuna")


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -4, 4)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    trial.set_user_attr("note", "tiny")
    for step in range(3):
        trial.report((x - 1) ** 2 + step, step)
    if trial.number == 2:
        raise optuna.TrialPruned()
    return (x - 1) ** 2 + (0 if kind == "a" else 1)


def _study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name="quad", sampler=optuna.samplers.RandomSampler(seed=0))


def test_alone_every_trial_is_a_finished_run_with_params_value_and_reports(store):
    from nbtrack.integrations.optuna import NbtrackCallback

    study = _study()
    study.optimize(_objective, n_trials=4, callbacks=[NbtrackCallback(metric_name="loss")])
    assert nbtrack.active_run() is None
    frame = nbtrack.runs(store=store)
    assert sorted(frame["name"]) == [f"quad trial {i}" for i in range(4)]
    for trial in study.trials:
        (run_id,) = frame[frame["name"] == f"quad trial {trial.number}"]["id"]
        run = nbtrack.get_run(run_id, store=store)
        assert run.status == "finished" and run.state.parent is None
        assert run.params["x"] == trial.params["x"] and run.params["kind"] == trial.params["kind"]
        assert run.params["user_attrs.note"] == "tiny" and run.params["trial"] == trial.number
        reports = run.metrics[run.metrics["key"] == "intermediate_value"]
        assert list(reports["step"]) == [0, 1, 2]
        assert list(reports["value"]) == pytest.approx([trial.intermediate_values[s] for s in range(3)])
        assert ("pruned" in run.tags) == (trial.number == 2)
        if trial.value is None:  # a pruned trial has the last value it reported, when Optuna keeps it
            assert "loss" not in run.state.metrics
        else:
            assert run.state.metrics["loss"].last == pytest.approx(trial.value)
        assert run.state.started == pytest.approx(trial.datetime_start.timestamp())


def test_inside_an_active_run_trials_are_its_children_and_it_follows_the_best(store):
    from nbtrack.integrations.optuna import NbtrackCallback

    study = _study()
    with nbtrack.start("tuning") as active:
        study.optimize(_objective, n_trials=4, callbacks=[NbtrackCallback()])
    parent = nbtrack.get_run(active.id, store=store)
    children = nbtrack.runs(f"parent={active.id}", store=store)
    assert len(children) == 4
    assert parent.params["best.x"] == study.best_params["x"]
    best = parent.metrics[parent.metrics["key"] == "best_value"]
    assert best["value"].iloc[-1] == pytest.approx(study.best_value)
    valued = [t.number for t in study.trials if t.value is not None]
    assert list(parent.metrics[parent.metrics["key"] == "value"]["step"]) == valued
