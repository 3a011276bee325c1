"""The sweep routes over a real Jupyter server: a sweep's progress (trials, attempts, best) and the
list of sweeps; the run listing filtered on a sweep; user text kept as text."""

from __future__ import annotations

from typing import Any

from nbtrack.core.sweep_spec import make_spec, parse_dimension
from nbtrack.core.sweep_state import event
from nbtrack.store.store import Store
from nbtrack.store.sweeps import SweepRecord
from tests.server.conftest import json_body, write_run

HOSTILE = "<img src=x onerror=alert(1)>"


def _sweep(store: Store) -> tuple[str, list[str]]:
    """A sweep of 3 trials recorded as its parties write it: trial 0 finished, trial 1 crashed then
    finished on a retry, trial 2 running; its runs carry the sweep in their header."""
    record = SweepRecord(store, "01sweepapi000001")
    spec = make_spec([parse_dimension("alpha=0.1,1,10")], {"note": HOSTILE}, search="grid", objective="acc:max")
    runs = [write_run(store, f"trial {i}", sweep=record.id, tags=[f"sweep:{record.id}"], params={"alpha": a},
                      status=status)
            for i, (a, status) in enumerate([(0.1, "finished"), (1, "crashed"), (1, "finished"), (10, None)])]
    record.write(event("sweep", id=record.id, name=HOSTILE, spec=spec.to_json(), notebook={"path": "/w/nb.ipynb"}))
    record.write(event("launch", session="s1", boot_id="another-machine", pid=1))
    outcomes = [(0, "a0", "finished", {"acc": 0.5}), (1, "a1", "crashed", {}), (1, "a2", "finished", {"acc": 0.8})]
    for (trial, attempt, status, metrics), run in zip(outcomes, runs):
        record.write(event("attempt", session="s1", trial=trial, attempt=attempt, params={"alpha": 1}, host="w1"))
        record.write(event("result", session="s1", trial=trial, attempt=attempt, status=status, run=run,
                           metrics=metrics, error="worker died" if status == "crashed" else None))
    record.write(event("attempt", session="s1", trial=2, attempt="a3", params={"alpha": 10}, host="w2"))
    record.write(event("started", attempt="a3", run=runs[3]))
    return record.id, runs


async def get(jp_fetch: Any, *parts: str, **params: Any) -> Any:
    return json_body(await jp_fetch("nbtrack", "api", *parts, params=params))


async def test_sweep_progress_lists_trials_attempts_and_the_best(jp_fetch, store):
    sweep_id, runs = _sweep(store)
    progress = await get(jp_fetch, "sweeps", sweep_id[:8])  # a unique prefix is enough
    assert progress["id"] == sweep_id and progress["name"] == HOSTILE  # text, as given
    assert progress["status"] == "running" and progress["total"] == 3 and progress["done"] == 2
    assert progress["counts"]["finished"] == 2 and progress["counts"]["running"] == 1
    assert [t["status"] for t in progress["trials"]] == ["finished", "finished", "running"]
    assert [a["status"] for a in progress["trials"][1]["attempts"]] == ["crashed", "finished"]
    assert progress["trials"][2]["run"] == runs[3]  # a running trial links to its live run
    assert progress["best"] == {"trial": 1, "run": runs[2], "value": 0.8}
    assert progress["objective"] == "acc:max" and progress["spec"]["fixed"] == {"note": HOSTILE}
    listed = await get(jp_fetch, "sweeps")
    assert listed["total"] == 1 and listed["sweeps"][0]["id"] == sweep_id and "trials" not in listed["sweeps"][0]


async def test_the_run_listing_filters_on_a_sweep(jp_fetch, store, make_run):
    sweep_id, runs = _sweep(store)
    make_run("not in the sweep")
    page = await get(jp_fetch, "runs", filter=f"sweep={sweep_id}")
    assert sorted(r["id"] for r in page["runs"]) == sorted(runs) and page["total"] == 4
    assert {r["sweep"] for r in page["runs"]} == {sweep_id}
    tagged = await get(jp_fetch, "runs", filter=f"tag=sweep:{sweep_id}")
    assert tagged["total"] == 4


async def test_an_unknown_sweep_is_404(jp_fetch, store):
    answer = await jp_fetch("nbtrack", "api", "sweeps", "zzzz", raise_error=False)
    assert answer.code == 404 and "no sweep" in json_body(answer)["message"]
