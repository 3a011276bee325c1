"""What a terminal shows of a sweep, without kernels: the progress bar counts trials as they end,
the line-per-trial mode says each end once, and the summary table lists every trial with its
parameters and the objective first."""

from __future__ import annotations

import io
from typing import Any

from nbtrack.cli.sweep import summary_table
from nbtrack.core.sweep_spec import make_spec, parse_dimension
from nbtrack.core.sweep_state import SweepState, event, reduce_sweep
from nbtrack.sweeps.progress import TerminalProgress


def _state(results: list[tuple[str, float | None]]) -> SweepState:
    """A sweep of 3 trials (x=1,2,3) whose first trials ended as `results` say."""
    spec = make_spec([parse_dimension("x=1,2,3")], {"pause": 0}, objective="loss:min")
    events: list[dict[str, Any]] = [event("sweep", ts=1.0, id="s1", name="demo", spec=spec.to_json()),
                                    event("launch", ts=2.0, session="a", boot_id="elsewhere", pid=1)]
    for index, (status, acc) in enumerate(results):
        events += [event("attempt", ts=3.0 + index, session="a", trial=index, attempt=f"t{index}",
                         params=spec.trials()[index]),
                   event("result", ts=4.0 + index, session="a", trial=index, attempt=f"t{index}", status=status,
                         run=f"run{index}", metrics=None if acc is None else {"acc": acc, "loss": 1 - acc})]
    return reduce_sweep(events)


def test_the_terminal_bar_counts_the_trials_that_ended() -> None:
    stream = io.StringIO()
    bar = TerminalProgress(stream, bar=True)
    bar(_state([]))
    bar(_state([("finished", 0.5), ("failed", None)]))
    bar.close()
    shown = stream.getvalue().split("\r")[-1]
    assert "sweep s1" in shown and "2/3" in shown and "1 failed" in shown


def test_without_a_bar_each_trial_end_is_said_once() -> None:
    stream = io.StringIO()
    lines = TerminalProgress(stream, bar=False)
    lines(_state([("finished", 0.5)]))
    lines(_state([("finished", 0.5), ("crashed", None)]))
    assert stream.getvalue().splitlines() == [
        "nbtrack: trial 0 finished (run run0); 1/3 done",
        "nbtrack: trial 1 crashed (run run1); 2/3 done, 1 crashed",
    ]


def test_the_summary_table_has_a_row_per_trial_with_the_objective_first() -> None:
    headers, rows = summary_table(_state([("finished", 0.5), ("finished", 0.75)]))
    assert headers == ["trial", "status", "run", "attempts", "pause", "x", "loss", "acc"]
    assert rows[1] == ["1", "finished", "run1", "1", "0", "2", "0.25", "0.75"]
    assert rows[2][:4] == ["2", "pending", "", "0"]  # not tried yet
