"""The run table model: paging through the kernel, sorting, filtering, selection, refresh."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.widgets.table import RunTable, format_cell, table

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    for i in range(23):
        with nbtrack.start(
            f"run-{i:02d}" if i else HOSTILE,
            store=path,
            params={"lr": 10.0 ** -(i % 4), "opt": "sgd" if i % 2 else "adam"},
            tags=["even" if i % 2 == 0 else "odd"],
        ):
            nbtrack.log(step=0, loss=1.0 / (i + 1), acc=i / 23)
    return path


def names(t: RunTable) -> list[str]:
    column = [c["id"] for c in t.grid.columns].index("name")
    return [row["cells"][column] for row in t.grid.rows]


def test_paging_sorting_filtering(store: Path) -> None:
    t = table(store=store, limit=10, refresh_interval=0)
    grid = t.grid
    assert grid.run_count == 23 and grid.total == 23 and len(grid.rows) == 10
    ids = [c["id"] for c in grid.columns]
    assert ids[:6] == ["status", "name", "user", "tags", "start", "duration"]
    assert {"params.lr", "params.opt", "metrics.loss.last", "metrics.acc.last", "id"} <= set(ids)
    grid.sort, grid.desc = "loss", False  # what a header click sends
    assert names(t)[0] == "run-22"
    grid.offset = 20
    assert len(grid.rows) == 3 and names(t)[-1] == HOSTILE  # the largest loss (1.0) is last
    grid.filter_text = "opt=sgd loss < 0.1"
    assert grid.offset == 0 and grid.error == ""
    assert grid.total == len([i for i in range(23) if i % 2 and 1 / (i + 1) < 0.1])
    assert all(row["cells"][ids.index("params.opt")] == "sgd" for row in grid.rows)
    grid.filter_text = "tag=even run-1"
    assert sorted(names(t)) == ["run-10", "run-12", "run-14", "run-16", "run-18"]
    grid.filter_text = "loss <"
    assert "cannot read" in grid.error and grid.total == 5  # the last good result stays
    grid.filter_text = "img"
    assert names(t) == [HOSTILE]  # user text travels as plain text, the front end sets textContent
    t.close()


def test_selection_and_refresh_when_runs_arrive(store: Path) -> None:
    t = table(store=store, refresh_interval=0.2)
    t.grid.selected = [row["id"] for row in t.grid.rows[:2]]
    assert t.selected == t.grid.selected
    with nbtrack.start("newcomer", store=store):
        nbtrack.log(loss=0.5)
    deadline = time.monotonic() + 15
    while t.grid.run_count != 24 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert t.grid.run_count == 24
    assert "newcomer" in names(t)  # newest first by default
    assert len(t.selected) == 2  # selection survives a refresh
    t.close()


def test_compare_message_needs_two_runs(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = table(store=store, refresh_interval=0)
    t.grid.selected = [t.grid.rows[0]["id"]]
    t._on_front_end_message(t.grid, {"type": "compare"}, [])
    assert "at least two runs" in capsys.readouterr().out
    t.close()


def test_format_cell() -> None:
    assert format_cell(None) == "" and format_cell(float("nan")) == ""
    assert format_cell(0.123456) == "0.1235"
    assert format_cell(["a", "b"]) == "a, b"
    assert format_cell(75.0, "duration") == "1m 15s"
    assert format_cell(7300, "duration") == "2h 01m"
