"""Every record kind has one constructor, one reducer entry and one row in the table of
``nbtrack.core.records``; records built by the constructors fold into a run's state."""

from __future__ import annotations

import re

from nbtrack.core import records
from nbtrack.core.state import REDUCERS, reduce


def _table_kinds() -> list[str]:
    """The kinds named in the module docstring's table (rows between its second and third rule)."""
    lines = (records.__doc__ or "").splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("=====")]
    rows = lines[rules[1] + 1 : rules[2]]
    return [match[1] for line in rows if (match := re.match(r"([a-z]+)\s{2,}", line))]


def test_every_kind_has_a_constructor_a_reducer_and_a_table_row() -> None:
    assert set(records.CONSTRUCTORS) == set(REDUCERS)
    assert sorted(_table_kinds()) == sorted(records.KINDS)
    for kind, build in records.CONSTRUCTORS.items():
        assert build.__module__ == records.__name__, kind


def test_records_built_by_the_constructors_reduce_into_a_state() -> None:
    log = [
        records.run_header("r1", 10.0, {"name": "baseline", "user": "ana", "tags": ["a"], "kernel_id": None}, ts=1.0),
        records.params({"lr": 0.1}, ts=2.0),
        records.note("why", ts=3.0),
        records.tags(["b", "a"], ts=4.0),
        records.artifact("model.pt", "a" * 64, 10, "file", ts=5.0),
        records.data("data/", "b" * 64, 2, 20, "c" * 64, ts=6.0),
        records.env("d" * 64, ts=7.0),
        records.warning("out_of_order", "cell 2 ran before cell 1", ["2", "1"], ts=8.0),
        records.cell(0, "c1", 1, "x = 1", 8.0, 9.0, None, "e" * 64),
        records.snapshot("f" * 64, ["e" * 64], "stop", "disk", "/nb.ipynb", ts=9.5),
        records.confusion(0, ["a", "b"], [[1, 0], [0, 1]], ts=9.6),
        records.heartbeat(ts=9.8),
        records.status("finished", ts=10.0),
    ]
    state = reduce(log)
    assert (state.id, state.name, state.user, state.status) == ("r1", "baseline", "ana", "finished")
    assert state.kernel_id is None and state.tags == ["a", "b"] and state.params == {"lr": 0.1}
    assert [n["text"] for n in state.notes] == ["why"]
    assert state.artifacts[0]["name"] == "model.pt" and state.data[0]["bytes"] == 20
    assert (state.env, state.cells, state.confusions, len(state.snapshots)) == ("d" * 64, 1, 1, 1)
    assert state.warnings == [{"kind": "out_of_order", "message": "cell 2 ran before cell 1", "cells": ["2", "1"]}]
    assert (state.started, state.ended, state.last_seen) == (1.0, 10.0, 10.0)
    assert records.refs_of(log[4]) == ["a" * 64, "a" * 64] and "e" * 64 in records.refs_of(log[8])


def test_a_status_outside_the_vocabulary_is_refused() -> None:
    try:
        records.status("done")
    except ValueError as exc:
        assert "finished" in str(exc)
    else:
        raise AssertionError("an unknown status was accepted")
