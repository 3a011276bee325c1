"""Sweep specs and sweep state, pure: dimensions read from text, the grid's order, random draws
from a seed, and a sweep's status and trials reduced from its events in any order."""

from __future__ import annotations

import json
import math
import random

import pytest

from nbtrack.core.sweep_spec import (
    Dimension,
    Objective,
    Spec,
    SpecError,
    make_spec,
    parse_dimension,
)
from nbtrack.core.sweep_state import (
    CANCELLED,
    CRASHED,
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    event,
    reduce_sweep,
    run_header_fields,
    trial_environment,
)


def test_dimensions_read_from_text_like_papermill_values() -> None:
    assert parse_dimension("C=0.1,1,10").values == (0.1, 1, 10)
    assert parse_dimension("kernel=rbf,linear").values == ("rbf", "linear")
    assert parse_dimension("flag=True,None").values == (True, None)
    assert parse_dimension("mode=choice:a,2").values == ("a", 2)
    lr = parse_dimension("lr=loguniform:1e-4:1e-1")
    assert (lr.kind, lr.low, lr.high) == ("loguniform", 1e-4, 1e-1)
    for bad in ("C", "=1", "C=", "1x=2", "lr=uniform:1", "lr=uniform:2:1", "lr=loguniform:0:1", "lr=uniform:a:b"):
        with pytest.raises(SpecError):
            parse_dimension(bad)


def test_the_grid_is_the_cartesian_product_last_dimension_fastest_with_fixed_values() -> None:
    spec = make_spec([parse_dimension("a=1,2"), parse_dimension("b=x,y,z")], {"seed": 0})
    assert spec.search == "grid" and spec.total == 6
    assert spec.trials() == [{"seed": 0, "a": a, "b": b} for a in (1, 2) for b in "xyz"]
    assert make_spec({}, {"n": 1}).trials() == [{"n": 1}]  # no dimension: one trial


def test_random_draws_depend_on_the_seed_alone() -> None:
    dims = [parse_dimension("lr=loguniform:0.0001:0.1"), parse_dimension("m=uniform:-1:1"),
            parse_dimension("k=choice:a,b,c")]
    first = make_spec(dims, random_count=50, seed=11).trials()
    assert first == make_spec(dims, random_count=50, seed=11).trials()
    assert first != make_spec(dims, random_count=50, seed=12).trials()
    assert all(1e-4 <= t["lr"] <= 0.1 and -1 <= t["m"] <= 1 and t["k"] in "abc" for t in first)
    logs = [math.log10(t["lr"]) for t in first]
    assert min(logs) < -3 and max(logs) > -2  # spread over the decades, not the linear range
    spec = make_spec(dims, random_count=5)
    assert Spec.from_json(json.loads(json.dumps(spec.to_json()))).trials() == spec.trials()  # as recorded
    rng = random.Random(11)
    assert first[0]["lr"] == math.exp(rng.uniform(math.log(1e-4), math.log(0.1)))


def test_specs_that_cannot_run_are_refused_with_the_reason() -> None:
    with pytest.raises(SpecError, match="needs --random N or --search optuna"):
        make_spec([parse_dimension("lr=uniform:0:1")])
    with pytest.raises(SpecError, match="more than once"):
        make_spec([parse_dimension("a=1")], {"a": 2})
    with pytest.raises(SpecError, match="objective"):
        make_spec([parse_dimension("a=1,2")], search="optuna", count=3)
    with pytest.raises(SpecError, match="number of trials"):
        make_spec([parse_dimension("a=1,2")], search="random")
    for bad in ("class=1,2", "a-b=1"):  # names become assignments in the notebook's code
        with pytest.raises(SpecError, match="Python identifier"):
            parse_dimension(bad)
    with pytest.raises(SpecError, match="Python identifier"):
        make_spec([parse_dimension("a=1")], {"os.system('x') #": 1})
    assert Objective.parse("loss:min").better(0.1, 0.2) and Objective.parse("acc").direction == "max"


def test_a_trial_kernel_reads_its_sweep_from_the_environment() -> None:
    fields, tags = run_header_fields(trial_environment("01sweep", 3, "01attempt", ["grid"]))
    assert fields == {"sweep": "01sweep", "trial": 3, "attempt": "01attempt"}
    assert tags == ["sweep:01sweep", "grid"]
    assert run_header_fields(None) == ({}, []) and run_header_fields("{not json") == ({}, [])


def _sweep(*later: dict, search: str = "grid") -> list[dict]:
    spec = make_spec([Dimension("a", values=(1, 2, 3))])
    return [event("sweep", ts=1.0, id="01sweep", name="s", spec=spec.to_json()), *later]


def test_state_from_events_read_in_any_order() -> None:
    events = _sweep(
        event("launch", ts=2.0, session="s1", boot_id="elsewhere", pid=1),
        event("attempt", ts=3.0, session="s1", trial=0, attempt="a1", params={"a": 1}),
        event("started", ts=3.5, attempt="a1", run="r1"),
        event("result", ts=4.0, session="s1", trial=0, attempt="a1", status=FINISHED, run="r1",
              metrics={"acc": 0.9}),
        event("attempt", ts=5.0, session="s1", trial=1, attempt="a2", params={"a": 2}),
        event("result", ts=6.0, session="s1", trial=1, attempt="a2", status=FAILED, error="In [3] raised"),
        event("attempt", ts=6.5, session="s1", trial=2, attempt="a3", params={"a": 3}),
    )
    for ordering in (events, list(reversed(events))):
        state = reduce_sweep(ordering)
        assert [state.trial_status(t) for t in state.trials.values()] == [FINISHED, FAILED, RUNNING]
        assert state.trials[0].last.run == "r1" and state.trials[0].last.metrics == {"acc": 0.9}
        assert state.status() == RUNNING  # its driver runs on another machine: not known dead
    ended = reduce_sweep([*events, event("end", ts=9.0, session="s1", status=FAILED)])
    assert ended.status() == FAILED
    assert ended.trial_status(ended.trials[2]) == CRASHED  # the session ended without its result


def test_cancel_applies_to_the_session_it_follows_and_a_resume_starts_afresh() -> None:
    base = _sweep(event("launch", ts=2.0, session="s1", boot_id="elsewhere", pid=1),
                  event("attempt", ts=3.0, session="s1", trial=0, attempt="a1"),
                  event("result", ts=4.0, session="s1", trial=0, attempt="a1", status=FINISHED))
    cancelled = reduce_sweep([*base, event("cancel", ts=5.0, reason="ctrl-c"),
                              event("end", ts=6.0, session="s1", status=CANCELLED)])
    assert cancelled.cancelled and cancelled.status() == CANCELLED
    assert [cancelled.trial_status(t) for t in cancelled.trials.values()] == [FINISHED, CANCELLED, CANCELLED]
    assert cancelled.to_remaining() == [1, 2]
    resumed = reduce_sweep([*base, event("cancel", ts=5.0), event("end", ts=6.0, session="s1", status=CANCELLED),
                            event("launch", ts=7.0, session="s2", boot_id="elsewhere", pid=1)])
    assert not resumed.cancelled and resumed.status() == RUNNING
    assert [resumed.trial_status(t) for t in resumed.trials.values()] == [FINISHED, PENDING, PENDING]


def test_the_first_result_of_an_attempt_wins() -> None:
    state = reduce_sweep(_sweep(
        event("launch", ts=2.0, session="s1", boot_id="elsewhere", pid=1),
        event("attempt", ts=3.0, session="s1", trial=0, attempt="a1"),
        event("result", ts=4.0, session="s1", trial=0, attempt="a1", status=CRASHED, error="worker died"),
        event("result", ts=5.0, session="s1", trial=0, attempt="a1", status=FINISHED),
    ))
    assert state.trials[0].last.status == CRASHED
