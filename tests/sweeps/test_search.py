"""The Optuna search without kernels: asks inside the space, learns from a resumed sweep's finished
trials, and prunes a running trial from the intermediate values its run logs to the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbtrack.core.ids import new_run_id
from nbtrack.core.run import ActiveRun
from nbtrack.core.sweep_spec import make_spec, parse_dimension
from nbtrack.core.sweep_state import FINISHED, event, reduce_sweep
from nbtrack.store.store import open_store
from nbtrack.sweeps.trial import TrialOutcome

optuna = pytest.importorskip("optuna")
from nbtrack.sweeps.search import OptunaSearch  # noqa: E402


def _spec(count: int = 8):
    return make_spec([parse_dimension("lr=loguniform:0.001:0.1"), parse_dimension("depth=2,4")], {"epochs": 3},
                     search="optuna", count=count, seed=5, objective="acc:max")


def test_asks_within_the_space_and_counts_down(tmp_path: Path) -> None:
    search = OptunaSearch(_spec(3), open_store(str(tmp_path / "store")))
    asked = [search.ask() for _ in range(3)]
    assert [index for index, _ in asked] == [0, 1, 2] and not search.has_more()
    for _, params in asked:
        assert params["epochs"] == 3 and 0.001 <= params["lr"] <= 0.1 and params["depth"] in (2, 4)
    search.tell(TrialOutcome(0, FINISHED, metrics={"acc": 0.8}))
    search.tell(TrialOutcome(1, "failed"))
    assert search.best() == {"params": {k: v for k, v in asked[0][1].items() if k != "epochs"}, "value": 0.8}


def test_a_resumed_search_learns_from_finished_trials_and_asks_only_the_rest(tmp_path: Path) -> None:
    spec = _spec(4)
    events = [event("sweep", ts=1.0, id="s", name="s", spec=spec.to_json()),
              event("launch", ts=2.0, session="s1", boot_id="elsewhere", pid=1)]
    for index, (status, acc) in enumerate([(FINISHED, 0.7), ("failed", None)]):
        events += [event("attempt", ts=3.0 + index, session="s1", trial=index, attempt=f"a{index}",
                         params={"lr": 0.01, "depth": 2, "epochs": 3}),
                   event("result", ts=4.0 + index, session="s1", trial=index, attempt=f"a{index}", status=status,
                         metrics={"acc": acc} if acc else None)]
    events.append(event("end", ts=9.0, session="s1", status="failed"))
    search = OptunaSearch(spec, open_store(str(tmp_path / "store")), reduce_sweep(events))
    assert len(search.study.trials) == 1 and search.study.best_value == 0.7
    assert search.remaining == 3  # 4 asked in all; one finished
    assert search.ask()[0] == 2  # trial numbers go on after the recorded ones


def test_a_running_trial_far_below_the_others_is_pruned_from_its_logged_values(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    spec = _spec(6)
    search = OptunaSearch(spec, store)
    for _ in range(5):  # five trials finish with good intermediate values
        index, _ = search.ask()
        for step in range(3):
            search.live[index].report(0.8 + 0.01 * step, step)
        search.tell(TrialOutcome(index, FINISHED, metrics={"acc": 0.82}))
    index, params = search.ask()
    run = ActiveRun(store, new_run_id(), {"name": "poor"}, flush_interval=60.0, heartbeat=60.0)
    for step in range(3):
        run.log(step, acc=0.1)
    run.flush()
    state = reduce_sweep([
        event("sweep", ts=1.0, id="s", name="s", spec=spec.to_json()),
        event("launch", ts=2.0, session="s1", boot_id="elsewhere", pid=1),
        event("attempt", ts=3.0, session="s1", trial=index, attempt="poor", params=params),
        event("started", ts=3.1, attempt="poor", run=run.id),
    ])
    assert search.to_stop(state) == ["poor"]
    assert sorted(search.reported[index]) == [0, 1, 2]  # each logged step reported once
    run.finish()
