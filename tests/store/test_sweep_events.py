"""A sweep's record on every store backend (tests/store/conftest.py: a folder, a shared folder,
memory, S3 and GCS servers, a team server over HTTP): the starter, the workers and whoever
cancels each write events of their own, and any reader sees them all, new ones included."""

from __future__ import annotations

from nbtrack.core.sweep_spec import make_spec, parse_dimension
from nbtrack.core.sweep_state import event
from nbtrack.store.store import open_store
from nbtrack.store.sweeps import SweepRecord, announce_run, resolve_sweep, sweep_ids


def test_a_sweep_written_by_several_parties_reads_back_whole(store_url: str) -> None:
    store = open_store(store_url)
    starter = SweepRecord(store, "s1")
    starter.write(event("sweep", id="s1", name="grid", spec=make_spec([parse_dimension("x=1,2")]).to_json()))
    starter.write(event("launch", session="a", boot_id="elsewhere", pid=1))
    starter.write(event("attempt", session="a", trial=0, attempt="t0", params={"x": 1}))
    announce_run(store, {"sweep": "s1", "trial": 0, "attempt": "t0"}, "run0")  # what a trial's kernel writes
    reader = SweepRecord(store, "s1")
    assert sweep_ids(store) == ["s1"] and resolve_sweep(store, "s") == "s1"
    first = reader.state()
    assert first.total == 2 and first.attempts["t0"].run == "run0" and not first.cancelled
    SweepRecord(store, "s1").write(event("cancel", user="someone", reason="cancelled"))  # from anywhere
    assert reader.state().cancelled  # read again: the new event is seen
