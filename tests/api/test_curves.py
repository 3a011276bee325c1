"""Long curves: metrics read by column, and the min/max envelope a long run stores when it
finishes, served at the width a chart draws."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import nbtrack
from nbtrack.api.curves import envelope

N = 40_000
SPIKES = {12_345: 9.0, 30_001: -7.0}


def series_value(i: int) -> float:
    if i % 1000 == 999:
        return math.nan  # skipped, never drawn
    return math.sin(i / 300) + SPIKES.get(i, 0.0)


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = str(tmp_path_factory.mktemp("curves"))
    run = nbtrack.start("long", store=folder)
    for i in range(N):
        nbtrack.log(step=i, loss=series_value(i), lr=0.1)
        if i % 10 == 0:
            nbtrack.log(step=i, val=float(i))  # another batch, interleaved with the first
    nbtrack.finish()
    return folder, run.id


def test_the_stored_envelope_has_the_exact_min_and_max_of_every_bucket(long_run: tuple[str, str]) -> None:
    folder, run_id = long_run
    run = nbtrack.get_run(run_id, store=folder)
    assert run.stored_curves is not None  # found through the index, before the log is read
    blob = json.loads(run.store.get_blob(run.stored_curves))["series"]["loss"]
    finite = [(i, series_value(i)) for i in range(N) if math.isfinite(series_value(i))]
    width, total = int(blob["width"]), int(blob["buckets"])
    assert total * width >= len(finite) > (total - 1) * width
    for groups in (total, 700, 64):
        curve = run.curves(groups)["loss"]
        assert (curve.count, curve.skipped) == (len(finite), N // 1000)
        kept = dict(zip(curve.step, curve.value))
        assert len(kept) == len(curve.step) <= 2 * groups and list(kept) == sorted(kept)
        # group g holds the stored buckets b with b * groups // total == g, i.e. finite points
        # [first bucket * width, (last bucket + 1) * width)
        by_group: dict[int, list[tuple[int, float]]] = {}
        for position, point in enumerate(finite):
            by_group.setdefault((position // width) * groups // total if groups < total else position // width,
                                []).append(point)
        assert sum(len(g) for g in by_group.values()) == len(finite)
        for points in by_group.values():
            steps = {s for s, _ in points}
            shown = [kept[s] for s in steps if s in kept]
            values = [v for _, v in points]
            assert sorted(shown) == sorted({min(values), max(values)})  # the lowest and highest, nothing else
        assert all(kept[s] == series_value(int(s)) for s in kept)  # real points, not averages


def test_runs_without_a_stored_envelope_are_reduced_from_their_columns(long_run: tuple[str, str]) -> None:
    folder, run_id = long_run
    run = nbtrack.get_run(run_id, store=folder)
    short = nbtrack.start("short", store=folder)
    for i in range(50):
        nbtrack.log(step=i, loss=float(i))
    nbtrack.finish()
    small = nbtrack.get_run(short.id, store=folder)
    assert small.stored_curves is None  # short: its points are as small as an envelope
    assert small.curves(100)["loss"].value == [float(i) for i in range(50)]
    reduced = small.curves(10)["loss"]
    assert len(reduced.value) <= 20 and (min(reduced.value), max(reduced.value)) == (0.0, 49.0)
    steps, times, values = run.columns(["loss"])["loss"]
    stored, computed = run.curves(500)["loss"], envelope(steps, times, values, 500)
    assert (computed.count, computed.skipped) == (stored.count, stored.skipped)
    assert (min(computed.value), max(computed.value)) == (min(stored.value), max(stored.value))
    assert {12_345.0, 30_001.0} <= set(computed.step) & set(stored.step)  # the spikes survive both


def test_metrics_are_read_by_column_in_logging_order(long_run: tuple[str, str]) -> None:
    folder, run_id = long_run
    frame = nbtrack.get_run(run_id, store=folder).metrics
    assert str(frame["key"].dtype) == "category" and {str(frame[c].dtype) for c in ("step", "time", "value")} == {
        "float64"}
    assert len(frame) == 2 * N + N // 10
    loss = frame[frame["key"] == "loss"]
    assert loss["step"].tolist() == list(range(N))
    np.testing.assert_array_equal(loss["value"].to_numpy(), np.array([series_value(i) for i in range(N)]))
    val = frame[frame["key"] == "val"]
    assert val["value"].tolist() == [float(i) for i in range(0, N, 10)]
    history = nbtrack.get_run(run_id, store=folder).history()
    assert history.loc[12_345.0, "loss"] == series_value(12_345) and history.loc[20.0, "val"] == 20.0


def test_envelope_of_columns_keeps_extremes_and_real_points() -> None:
    ys = np.array([math.sin(i / 50) + (5.0 if i == 31_337 else 0.0) for i in range(100_000)])
    xs = np.arange(100_000, dtype=np.float64)
    curve = envelope(xs, xs, ys, 500)
    assert len(curve.value) <= 1000 and curve.count == 100_000
    assert max(curve.value) == ys.max() and min(curve.value) == ys.min()
    assert 31_337 in curve.step and curve.step == sorted(curve.step)
    assert all(ys[int(x)] == y for x, y in zip(curve.step, curve.value))
    short = envelope(np.array([0.0, 1, 2]), np.zeros(3), np.array([1.0, math.nan, math.inf]), 10)
    assert (short.step, short.value, short.count, short.skipped) == ([0.0], [1.0], 1, 2)


def test_the_envelope_stored_at_finish_holds_rows_the_writer_has_not_collected_yet(tmp_path: Path) -> None:
    """The writer may be mid-write (its rows taken) when finish queues the envelope: the envelope
    must still count every row logged. Here the writer sleeps (hour-long interval) while rows
    wait in its queue, and the envelope is built as the writer would build it."""
    from nbtrack.core.run import ActiveRun
    from nbtrack.store.store import open_store

    store = open_store(str(tmp_path / "store"))
    run = ActiveRun(store, "01testrun0000000", {"name": "queued"}, flush_interval=3600)
    for i in range(5000):
        run.log(step=i, loss=float(i % 7))
    (record,) = run._curves()
    blob = json.loads(store.get_blob(record["sha256"]))["series"]["loss"]
    assert blob["count"] == 5000
    run.finish()
