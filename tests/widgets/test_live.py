"""The live curves model: throttled deltas from a run's history, downsampled, data kept whole."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.api.views import group_name, metric_groups
from nbtrack.widgets.live import LiveCurves, show_live


class FrontEnd:
    """What a front end receives, and the series it rebuilds from it the way live.js does:
    whole series from the `snapshot` trait, then numbered deltas; after a gap in the numbering
    a series waits for its next whole copy."""

    def __init__(self, widget: LiveCurves) -> None:
        self.messages: list[dict[str, Any]] = []  # deltas and snapshots, in sending order
        self.series: dict[str, list[tuple[float, float, float]]] = {}
        self.seq = -1
        self.synced: set[str] = set()
        widget.send = self.receive  # type: ignore[method-assign]
        widget.observe(lambda change: self.load(change["new"]), names=["snapshot"])
        if widget.snapshot:  # what came with the widget
            self.load(widget.snapshot)

    def load(self, snapshot: dict[str, Any]) -> None:
        self.messages.append({"type": "snapshot", **snapshot})
        self.series = {k: list(zip(d["step"], d["time"], d["value"])) for k, d in snapshot["series"].items()}
        self.synced = set(self.series)
        self.seq = snapshot["seq"]

    def receive(self, content: dict[str, Any], buffers: Any = None) -> None:
        self.messages.append(content)
        if content["seq"] != self.seq + 1:
            self.synced.clear()
        self.seq = content["seq"]
        for key, d in content["series"].items():
            if d["reset"]:
                self.synced.add(key)
            if key not in self.synced:
                continue
            points = list(zip(d["step"], d["time"], d["value"]))
            shown = self.series.get(key, [])
            self.series[key] = points if d["reset"] else shown[: len(shown) - d["drop"]] + points


def test_groups() -> None:
    assert [group_name(k) for k in ("loss", "train/loss", "val_loss", "eval.loss", "lr")] == [
        "loss", "loss", "loss", "loss", "lr"]
    keys = ["train_loss", "val_loss", "acc", "val_acc", "lr"]
    assert metric_groups(keys) == [
        {"title": "loss", "keys": ["train_loss", "val_loss"]},
        {"title": "acc", "keys": ["acc", "val_acc"]},
        {"title": "lr", "keys": ["lr"]},
    ]
    assert metric_groups(keys, ["lr", ["acc", "val_acc"]]) == [
        {"title": "lr", "keys": ["lr"]}, {"title": "acc · val_acc", "keys": ["acc", "val_acc"]}]
    assert metric_groups(keys, {"losses": ["train_loss"]}) == [{"title": "losses", "keys": ["train_loss"]}]


def test_throttled_deltas_while_logging_and_whole_data_in_store(tmp_path: Path) -> None:
    run = nbtrack.start("live", store=tmp_path / "store")
    widget = show_live(interval=0.1)
    front = FrontEnd(widget)
    began = time.monotonic()
    for i in range(100_000):
        nbtrack.log(step=i, loss=1 / (i + 1), val_loss=math.nan if i == 500 else 2 / (i + 1))
        if i % 10_000 == 0:
            time.sleep(0.05)  # give the poller a few turns mid-loop
    elapsed = time.monotonic() - began
    nbtrack.finish()
    deadline = time.monotonic() + 10
    while widget.status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert widget.status == "finished"
    # throttled: one message per poll at most (not one per log call), several during the loop
    assert 2 <= len(front.messages) <= (elapsed + 1.0) / 0.1 + 3
    assert widget.groups == [{"title": "loss", "keys": ["loss", "val_loss"]}]
    for key in ("loss", "val_loss"):
        shown = front.series[key]
        held = widget.envelopes[key].points()
        assert [p[0] for p in shown] == [p[0] for p in held]
        assert [p[2] for p in shown] == [p[2] for p in held]
        assert len(shown) <= 2 * widget.capacity
        assert shown[0][0] == 0 and shown[-1][0] == 99_999
    assert widget.envelopes["val_loss"].skipped == 1  # NaN not drawn
    assert front.messages[-1]["stats"]["loss"]["count"] == 100_000
    assert front.messages[-1]["type"] == "snapshot"  # the final curves, whole
    # the widget pulled rows into the history itself; the store still got every point
    stored = nbtrack.get_run(run.id, tmp_path / "store").metrics
    assert len(stored) == 200_000
    assert sorted(stored[stored.key == "loss"].step) == list(range(100_000))


def test_first_points_come_with_the_widget(tmp_path: Path) -> None:
    """The automatic chart is created after the first points were logged: they travel in the
    widget's own state, not in a message a view could miss."""
    nbtrack.start("first", store=tmp_path / "store")
    for i in range(3):
        nbtrack.log(step=i, loss=1.0 / (i + 1))
    widget = show_live(interval=60)
    assert widget.snapshot["seq"] == 1
    assert widget.snapshot["series"]["loss"]["value"] == [1.0, 0.5, 1 / 3]
    assert widget.snapshot["stats"]["loss"]["count"] == 3
    front = FrontEnd(widget)
    nbtrack.log(step=3, loss=0.25)
    widget.poll()
    assert [m["type"] for m in front.messages] == ["snapshot", "delta"]
    assert [p[2] for p in front.series["loss"]] == [1.0, 0.5, 1 / 3, 0.25]
    nbtrack.finish()


def test_chart_made_before_any_log_gets_whole_series_first(tmp_path: Path) -> None:
    nbtrack.start("empty", store=tmp_path / "store")
    widget = show_live(interval=60)
    assert widget.snapshot == {} and widget.groups == []
    front = FrontEnd(widget)
    nbtrack.log(loss=1.0)
    widget.poll()
    nbtrack.log(loss=2.0)
    widget.poll()
    assert [(m["type"], m["seq"]) for m in front.messages] == [("snapshot", 1), ("delta", 2)]
    assert [p[2] for p in front.series["loss"]] == [1.0, 2.0]
    nbtrack.finish()


def test_final_curves_stay_in_the_widget_state(tmp_path: Path) -> None:
    """When the run ends the poller sends whole series once more: a saved notebook's widget
    state (and a page opened later) holds the final curves, not the first points."""
    nbtrack.start("final", store=tmp_path / "store")
    widget = show_live(interval=0.05)
    for i in range(500):
        nbtrack.log(step=i, loss=float(i))
    nbtrack.finish()
    deadline = time.monotonic() + 10
    while widget.status == "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert widget.status == "finished"
    series = widget.snapshot["series"]["loss"]
    assert series["step"][0] == 0 and series["step"][-1] == 499 and len(series["value"]) == 500
    assert widget.snapshot["stats"]["loss"]["count"] == 500


def test_sync_request_sends_everything_again(tmp_path: Path) -> None:
    nbtrack.start("sync", store=tmp_path / "store")
    widget = show_live(interval=60)  # the poller stays asleep; poll() by hand
    front = FrontEnd(widget)
    for i in range(5000):
        nbtrack.log(loss=float(i))
    widget.poll()
    before = dict(front.series)
    seq = front.seq
    widget._on_front_end_message(widget, {"type": "sync"}, [])
    assert front.messages[-1]["type"] == "snapshot" and front.messages[-1]["seq"] == seq + 1
    assert front.series == before
    nbtrack.finish()


def test_explicit_metrics_pick_keys(tmp_path: Path) -> None:
    nbtrack.start("pick", store=tmp_path / "store")
    widget = show_live(metrics=["acc"], interval=60)
    front = FrontEnd(widget)
    nbtrack.log(loss=1.0, acc=0.5)
    widget.poll()
    assert widget.groups == [{"title": "acc", "keys": ["acc"]}]
    assert set(front.messages[-1]["series"]) == {"acc"}
    nbtrack.finish()


def test_finished_run_is_drawn_from_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run = nbtrack.start("done", store=store)
    for i in range(3000):
        nbtrack.log(step=i, loss=float(3000 - i), acc=i / 3000)
    nbtrack.finish()
    widget = show_live(run=run.id, store=store, capacity=100)
    assert widget.status == "finished" and widget.title == "done"
    assert {k: e.count for k, e in widget.envelopes.items()} == {"loss": 3000, "acc": 3000}
    points = widget.envelopes["loss"].points()
    assert len(points) <= 200 and points[0][2] == 3000.0 and points[-1][2] == 1.0
    front = FrontEnd(widget)
    assert front.series["loss"][0][1] == pytest.approx(0.0, abs=5)  # seconds since the run began


def test_messages_are_numbered_and_everything_is_resent_now_and_then(tmp_path: Path) -> None:
    nbtrack.start("seq", store=tmp_path / "store")
    widget = show_live(interval=60)
    front = FrontEnd(widget)
    for batch in range(4):
        for i in range(100):
            nbtrack.log(loss=float(batch * 100 + i))
        widget.poll()
        if batch == 1:
            widget.resync_seconds = 0.0  # from now on every message is whole
    assert [(m["type"], m["seq"]) for m in front.messages] == [
        ("snapshot", 1), ("delta", 2), ("snapshot", 3), ("snapshot", 4)]
    late = front.messages[2]["series"]["loss"]  # a view that joins here has everything
    assert late["step"][0] == 0 and late["step"][-1] == 299
    assert widget.messages_sent == 4
    nbtrack.finish()


def test_a_view_that_missed_a_delta_waits_for_whole_series(tmp_path: Path) -> None:
    nbtrack.start("gap", store=tmp_path / "store")
    widget = show_live(interval=60)
    front = FrontEnd(widget)
    nbtrack.log(loss=0.0)
    widget.poll()  # snapshot 1
    lost = front.receive
    widget.send = lambda content, buffers=None: None  # type: ignore[method-assign]
    nbtrack.log(loss=1.0)
    widget.poll()  # delta 2, never arrives
    widget.send = lost  # type: ignore[method-assign]
    nbtrack.log(loss=2.0)
    widget.poll()  # delta 3: after a gap, not applied
    assert [p[2] for p in front.series["loss"]] == [0.0]
    widget._on_front_end_message(widget, {"type": "sync"}, [])
    assert [p[2] for p in front.series["loss"]] == [0.0, 1.0, 2.0]
    nbtrack.finish()
