"""The run table model: paging through the kernel, sorting, filtering, columns from the runs a
filter keeps, the column choice, selection, and refreshing (also when another process brought
the shared index up to date first, and after a failure)."""

from __future__ import annotations

import subprocess
import sys
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
    return [row["cells"]["name"] for row in t.grid.rows]


def column_ids(t: RunTable, shown: bool = True) -> list[str]:
    return [c["id"] for c in t.grid.columns if c["shown"] or not shown]


def test_paging_sorting_filtering(store: Path) -> None:
    t = table(store=store, limit=10, refresh_interval=0)
    grid = t.grid
    assert grid.run_count == 23 and grid.total == 23 and len(grid.rows) == 10
    assert column_ids(t) == ["name", "id", "status", "user", "tags", "start", "duration",
                             "params.lr", "params.opt", "metrics.acc.last", "metrics.loss.last"]
    assert [c["group"] for c in grid.columns] == ["run"] * 7 + ["params"] * 2 + ["metrics"] * 2
    grid.sort, grid.desc = "loss", False  # what a header click sends
    assert names(t)[0] == "run-22"
    grid.offset = 20
    assert len(grid.rows) == 3 and names(t)[-1] == HOSTILE  # the largest loss (1.0) is last
    grid.filter_text = "opt=sgd loss < 0.1"
    assert grid.offset == 0 and grid.error == ""
    assert grid.total == len([i for i in range(23) if i % 2 and 1 / (i + 1) < 0.1])
    assert all(row["cells"]["params.opt"] == "sgd" for row in grid.rows)
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


def test_columns_come_from_the_runs_the_filter_keeps(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with nbtrack.start("old", store=store, params={f"old_{i}": i for i in range(6)}):
        nbtrack.log(old_metric=1.0)
    for i in range(3):
        with nbtrack.start(f"sweep-{i}", store=store, tags=["sweep"], params={"lr": 0.1 * (i + 1)}):
            nbtrack.log(loss=1.0 / (i + 1))
    t = table(store=store, refresh_interval=0)
    assert {"params.old_0", "metrics.old_metric.last", "tags"} <= set(column_ids(t))
    t.grid.filter_text = "tag=sweep"
    # no column that every kept run leaves empty: the metrics follow the params directly
    assert column_ids(t) == [
        "name", "id", "status", "user", "tags", "start", "duration", "params.lr", "metrics.loss.last"]
    assert all(set(row["cells"]) == set(column_ids(t)) for row in t.grid.rows)
    t.grid.filter_text = "old"
    assert "tags" not in column_ids(t) and "params.lr" not in column_ids(t)  # nobody kept has them
    t.close()


def test_column_choice(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with nbtrack.start("wide", store=store, params={f"p{i:02d}": i for i in range(14)}):
        nbtrack.log(loss=1.0, acc=0.5)
    t = table(store=store, refresh_interval=0)
    params = [c["id"] for c in t.grid.columns if c["group"] == "params"]
    assert len(params) == 14 and column_ids(t).count("params.p00") == 1
    assert [p for p in params if p in column_ids(t)] == params[:10]  # the rest waits in the chooser
    t.grid.choice = {"params.p12": True, "metrics.acc.last": False, "name": False}
    assert "params.p12" in column_ids(t) and "metrics.acc.last" not in column_ids(t)
    assert "name" in column_ids(t)  # name and id are always shown
    assert "metrics.acc.last" not in t.grid.rows[0]["cells"] and t.grid.rows[0]["cells"]["params.p12"] == "12"
    t.close()


def test_refresh_shows_a_run_when_another_process_updated_the_shared_index_first(
    store: Path, child_env: dict[str, str]
) -> None:
    """The index is one SQLite file per machine: the Jupyter server (lab sidebar) or the CLI may
    read a new run into it before the table looks; the table must still show that run."""
    t = table(store=store, refresh_interval=0)
    with nbtrack.start("same-kernel", store=store):
        nbtrack.log(loss=0.5)
    code = f"from nbtrack.store.store import open_store; print(open_store({str(store)!r}).index.refresh())"
    other = subprocess.run([sys.executable, "-c", code], env=child_env, capture_output=True, text=True, timeout=60)
    assert other.stdout.strip() == "1", other.stderr  # that process took the change
    assert t.refresh() is True
    assert "same-kernel" in names(t) and t.grid.run_count == 24
    assert t.refresh() is False  # nothing new since
    t.close()


def test_a_failed_refresh_is_shown_and_the_next_one_recovers(store: Path) -> None:
    t = table(store=store, refresh_interval=0.2)
    runs = store / "runs"
    runs.rename(store / "runs.away")  # the store's folder goes away (a network drive drops)...
    runs.write_text("not a folder")
    try:
        deadline = time.monotonic() + 15
        while not t.grid.refresh_error and time.monotonic() < deadline:
            time.sleep(0.05)
        assert t.grid.refresh_error.startswith("Could not refresh at ")
        assert "NotADirectoryError" in t.grid.refresh_error and "trying again every 0.2 s" in t.grid.refresh_error
        assert t.grid.run_count == 23  # the last good rows stay
    finally:
        runs.unlink()
        (store / "runs.away").rename(runs)  # ...and comes back
    with nbtrack.start("after the outage", store=store):
        nbtrack.log(loss=0.1)
    deadline = time.monotonic() + 15
    while "after the outage" not in names(t) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "after the outage" in names(t) and t.grid.refresh_error == ""
    t.close()
