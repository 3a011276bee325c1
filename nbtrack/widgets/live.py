"""Live metric curves: a light anywidget that follows a run while its cell is still running.

The training loop only appends to the run's queue (``log()`` is untouched). A poller thread
wakes every `interval` seconds (0.2 s: at most 5 front-end messages a second, whatever the
logging rate), moves new points into the run's history (``collect_metrics``), reads them with
its own cursor (``history.since``), folds them into one min/max ``Envelope`` per metric, and
sends only the delta in one numbered custom message. Whole series travel in the ``snapshot``
trait: with the widget itself (so the first points arrive with it), every `resync_seconds`
while the run goes on, on a view's request, and when the run ends (so a saved notebook keeps
the final curves in its widget state). The front end keeps the series on the model
(``live.js``), so deltas that arrive before a view renders are kept. The stored data stays
whole; only the display is downsampled.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import anywidget
import traitlets

from nbtrack.api import StoreLike
from nbtrack.api.views import MetricsSpec, metric_groups
from nbtrack.capture import colab
from nbtrack.core.downsample import Delta, Envelope
from nbtrack.core.records import RUNNING
from nbtrack.core.run import ActiveRun
from nbtrack.widgets._common import CHART_STYLES, CHARTS, RunSpec, front_end, stored_run, stylesheet

Series = tuple[Sequence[float], Sequence[float], Sequence[float]]  # steps, times, values

def _wanted(groups: list[dict[str, Any]]) -> set[str]:
    return {k for g in groups for k in g["keys"]}


class LiveCurves(anywidget.AnyWidget):
    """One chart per metric group; smoothing, log scale and x axis (step/time) in the view."""

    _esm = front_end(*CHARTS, "live.js")
    _css = stylesheet(*CHART_STYLES)
    key = traitlets.Unicode().tag(sync=True)  # this widget among others (the front end's store)
    snapshot = traitlets.Dict().tag(sync=True)  # {"seq", "series": {key: whole series}, "stats"}
    title = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode(RUNNING).tag(sync=True)
    groups = traitlets.List(traitlets.Dict()).tag(sync=True)
    x_axis = traitlets.Enum(["step", "time"], "step").tag(sync=True)
    smoothing = traitlets.Float(0.0, min=0.0, max=0.99).tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Int(220).tag(sync=True)

    def __init__(self, metrics: MetricsSpec = None, capacity: int = 600, interval: float = 0.2, **kwargs: Any) -> None:
        colab.enable_widgets()
        super().__init__(key=uuid.uuid4().hex, **kwargs)
        self.metrics_spec = metrics
        self.capacity = capacity
        self.interval = interval
        self.envelopes: dict[str, Envelope] = {}
        self.messages_sent = 0
        self.resync_seconds = 10.0
        self._seq = 0
        self._last_full = 0.0  # monotonic time of the last snapshot (0: none yet)
        self._t0 = 0.0
        self._lock = threading.Lock()
        self._run: ActiveRun | None = None
        self._cursor: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_msg(self._on_front_end_message)

    # ---- data in
    def follow(self, run: ActiveRun) -> LiveCurves:
        """Poll `run` in the background until it finishes (or the widget closes)."""
        self._run = run
        self.title = run.name or run.id
        self._thread = threading.Thread(target=self._poll_loop, name=f"nbtrack-live-{run.id}", daemon=True)
        self._thread.start()
        return self

    def load(self, history: Mapping[str, Series], t0: float,
             logged: Mapping[str, tuple[int, int]] | None = None) -> LiveCurves:
        """Show finished series (key -> steps, times, values) once; `logged`: key -> (finite,
        non-finite) points the series stand for, when they are an envelope of a longer run."""
        self._t0 = t0
        self._ingest(dict(history))
        if logged:
            with self._lock:
                for key, (count, skipped) in logged.items():
                    if key in self.envelopes:
                        self.envelopes[key].count, self.envelopes[key].skipped = count, skipped
                self._publish_snapshot()
        return self

    def _poll_loop(self) -> None:
        run = self._run
        assert run is not None
        while not self._stop.wait(self.interval):
            finished = run.status != RUNNING
            try:
                self.poll()
            except Exception:  # a closed comm or a broken front end: stop quietly
                return
            if finished:
                with self._lock, contextlib.suppress(Exception):  # the final curves stay in the saved state
                    self.status = run.status
                    self._publish_snapshot()
                return

    def poll(self) -> int:
        """Fold the run's new points in and send them (a delta, or now and then whole series);
        returns how many points were new."""
        run = self._run
        if run is None:
            return 0
        run.collect_metrics()
        return self._ingest(run.history.since(self._cursor))

    def _ingest(self, new: Mapping[str, Series]) -> int:
        if not new:
            return 0
        count = 0
        deltas: dict[str, Delta] = {}
        with self._lock:
            for key, (steps, times, values) in new.items():
                envelope = self.envelopes.get(key)
                if envelope is None:
                    envelope = self.envelopes[key] = Envelope(self.capacity)
                deltas[key] = envelope.extend(steps, times, values)
                count += len(values)
            self._regroup()
            if not self._last_full or time.monotonic() - self._last_full >= self.resync_seconds:
                self._publish_snapshot()  # the first points, and now and then everything
            else:
                self._send_delta({k: self._wire(d.as_json()) for k, d in deltas.items()})
        return count

    def _regroup(self) -> None:
        groups = metric_groups(self.envelopes, self.metrics_spec)
        if self.metrics_spec is not None:  # explicit charts: keep them, even before data arrives
            groups = [g for g in groups if g["keys"]]
        if groups != self.groups:
            self.groups = groups

    def _wire(self, delta: dict[str, Any]) -> dict[str, Any]:
        if not self._t0 and delta["time"]:  # a live run: time counts from its first point
            self._t0 = min(delta["time"])
        delta["time"] = [round(t - self._t0, 3) for t in delta["time"]]
        delta["step"] = [int(x) if x.is_integer() else x for x in delta["step"]]
        return delta

    def _stats(self) -> dict[str, Any]:
        return {k: {"count": e.count, "skipped": e.skipped, "width": e.width} for k, e in self.envelopes.items()}

    def _publish_snapshot(self) -> None:
        """Whole series into the `snapshot` trait (under the lock: numbered in sending order)."""
        wanted = _wanted(self.groups)
        series = {k: self._wire(e.snapshot().as_json()) for k, e in self.envelopes.items() if k in wanted}
        self._seq += 1
        self._last_full = time.monotonic()
        self.snapshot = {"seq": self._seq, "series": series, "stats": self._stats()}
        self.messages_sent += 1

    def _send_delta(self, series: dict[str, Any]) -> None:
        """One numbered message with what changed (under the lock: views detect gaps)."""
        wanted = _wanted(self.groups)
        payload = {k: v for k, v in series.items() if k in wanted}
        if payload:
            self._seq += 1
            self.send({"type": "delta", "seq": self._seq, "series": payload, "stats": self._stats()})
            self.messages_sent += 1

    def _on_front_end_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "sync":
            with self._lock:
                self._publish_snapshot()

    def close(self) -> None:
        stop = getattr(self, "_stop", None)  # close() also runs from __del__ of half-built widgets
        if stop is not None:
            stop.set()
        super().close()


_shown: set[str] = set()  # run ids with a live chart already (auto-show shows one at most)


def show_live(
    metrics: MetricsSpec = None,
    run: RunSpec = None,
    store: StoreLike = None,
    interval: float = 0.2,
    capacity: int = 600,
) -> LiveCurves:
    """Live curves of the active run (or of `run`): one chart per metric group, updated while
    the cell runs. `metrics` picks or groups the keys (see `metric_groups`). A finished run's
    curves are drawn once from the store."""
    if run is None or isinstance(run, ActiveRun):
        from nbtrack import api

        active = run if isinstance(run, ActiveRun) else api.active_run()
        if active is not None and active.status == RUNNING:
            _shown.add(active.id)
            widget = LiveCurves(metrics, capacity=capacity, interval=interval)
            widget.follow(active)
            widget.poll()
            return widget
    stored = stored_run(run, store)
    widget = LiveCurves(metrics, capacity=capacity, interval=interval, title=stored.name or stored.id)
    widget.status = stored.status
    # a finished run's envelope at the chart's resolution (stored when a long run finished): at most
    # two points a bucket, all kept by an envelope twice as wide
    widget.capacity = 2 * capacity
    curves = stored.curves(capacity)
    widget.load({k: (c.step, c.time, c.value) for k, c in curves.items()}, stored.state.started,
                {k: (c.count, c.skipped) for k, c in curves.items()})
    return widget
