"""The driver of one session of a sweep (a start or a resume): hands trials to an executor, as
many at once as it has slots, retries the crashed ones, notices cancellation, and records the
session's launch and end.

* A trial whose worker died (the future fails, or the pool breaks) or whose kernel died is
  retried in this session until it used ``1 + retries`` attempts; its unfinished attempts are
  recorded as crashed. A trial that failed (a cell raised) is not retried: it would fail again.
* Cancelled (a ``cancel`` event, from ``nbtrack sweep --cancel`` or a first Ctrl-C here): no new
  trial starts, running ones finish and are recorded, the session ends ``cancelled``. A second
  Ctrl-C stops the running trials too (a ``stop`` event each; their kernels are interrupted).
* The search decides which trials run (`Search`: a fixed list for grid and random searches, an
  Optuna study that is asked and told for ``optuna``) and which running trials to stop (pruning).
"""

from __future__ import annotations

import collections
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from nbtrack.core.identity import boot_id, user_name
from nbtrack.core.ids import new_run_id
from nbtrack.core.sweep_state import (
    CANCELLED,
    CRASHED,
    FAILED,
    FINISHED,
    RUNNING,
    STOPPED,
    SweepState,
    event,
)
from nbtrack.store.sweeps import SweepRecord
from nbtrack.sweeps.executors import Executor
from nbtrack.sweeps.trial import TrialOutcome, TrialTask, run_trial

POLL_SECONDS = 1.0
Say = Callable[[str], None]


class Search(Protocol):
    def has_more(self) -> bool: ...
    def ask(self) -> tuple[int, dict[str, Any]]: ...
    def retry(self, index: int, params: dict[str, Any]) -> None: ...
    def tell(self, outcome: TrialOutcome) -> None: ...
    def to_stop(self, state: SweepState) -> list[str]: ...
    def clear(self) -> None: ...


class ListSearch:
    """Grid and random searches: the trials are known in advance."""

    def __init__(self, trials: list[tuple[int, dict[str, Any]]]) -> None:
        self.queue = collections.deque(trials)

    def has_more(self) -> bool:
        return bool(self.queue)

    def ask(self) -> tuple[int, dict[str, Any]]:
        return self.queue.popleft()

    def retry(self, index: int, params: dict[str, Any]) -> None:
        self.queue.appendleft((index, params))

    def tell(self, outcome: TrialOutcome) -> None:
        pass

    def to_stop(self, state: SweepState) -> list[str]:
        return []

    def clear(self) -> None:
        self.queue.clear()


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    if name in ("KilledWorker", "BrokenProcessPool", "CommClosedError"):
        return f"the worker running it died ({name})"
    return f"{name}: {exc}".rstrip(": ")


class Driver:
    def __init__(self, record: SweepRecord, executor: Executor, template: TrialTask, search: Search, *,
                 on_progress: Callable[[SweepState], None] | None = None, say: Say | None = None,
                 poll: float = POLL_SECONDS) -> None:
        self.record, self.executor, self.template, self.search = record, executor, template, search
        self.session = template.session
        self.on_progress = on_progress or (lambda state: None)
        self.say = say or (lambda message: None)
        self.poll = poll
        self.running: dict[Any, tuple[int, dict[str, Any]]] = {}
        self.tries: collections.Counter[int] = collections.Counter()
        self.outcomes: dict[int, TrialOutcome] = {}
        self.cancelling = False
        self._waiting_said = False
        self._crashes: set[str] = set()

    def run(self) -> SweepState:
        self.record.write(event("launch", session=self.session, executor=self.executor.name,
                                slots=self.executor.slots(), user=user_name(), host=socket.gethostname(),
                                boot_id=boot_id(), pid=os.getpid()))
        interrupts = 0
        while True:
            try:
                if not self._step():
                    break
            except KeyboardInterrupt:
                interrupts += 1
                if interrupts > 2:
                    raise
                self._interrupted(interrupts)
        status = CANCELLED if self.cancelling else (
            FAILED if any(o.status in (FAILED, CRASHED) for o in self.outcomes.values()) else FINISHED)
        self.record.write(event("end", session=self.session, status=status))
        state = self.record.state()
        self.on_progress(state)
        return state

    def _step(self) -> bool:
        """See what changed (cancelled? trials to prune?), start what fits, wait a little for what
        runs; False when the session is over."""
        self._look()
        if not self.cancelling:
            slots = self.executor.slots()
            while len(self.running) < slots and self.search.has_more():
                self._submit(*self.search.ask())
            if not self.running and self.search.has_more() and not self._waiting_said:
                self.say("no worker is connected to the cluster yet: waiting for one")
                self._waiting_said = True
        if not self.running and (self.cancelling or not self.search.has_more()):
            return False
        if self.running:
            done = self.executor.wait(list(self.running), self.poll)
        else:  # no worker to run on yet
            done = set()
            time.sleep(self.poll)
        for future in done:
            self._finished(future)
        return True

    def _submit(self, index: int, params: dict[str, Any]) -> None:
        self.tries[index] += 1
        task = replace(self.template, trial=index, params=params,
                       name=f"{self.template.name} #{index}")
        key = f"nbtrack-trial-{self.record.id}-{index}-{new_run_id()}"
        self.running[self.executor.submit(run_trial, task, key)] = (index, params)

    def _finished(self, future: Any) -> None:
        index, params = self.running.pop(future)
        try:
            outcome: TrialOutcome = future.result()
        except Exception as exc:  # the worker died, or the task could not run there
            outcome = TrialOutcome(index, CRASHED, error=_describe(exc))
        if outcome.status == CRASHED:
            state = self.record.state()
            attempts = state.attempts_in(self.session, index)
            for attempt in attempts:
                if attempt.status == RUNNING:
                    self.record.write(event("result", session=self.session, trial=index, attempt=attempt.id,
                                            status=CRASHED, run=attempt.run, error=outcome.error))
                    self._crashes.add(attempt.id)
            used = max(self.tries[index], len(attempts))
            if not self.cancelling and used < self.template.max_attempts:
                self.say(f"trial {index} crashed ({outcome.error}): retrying it "
                         f"(attempt {used + 1} of {self.template.max_attempts})")
                self.search.retry(index, params)
                return
        self.outcomes[index] = outcome
        self.search.tell(outcome)

    def _look(self) -> None:
        state = self.record.state()
        if state.cancelled and not self.cancelling:
            self._cancel("the sweep was cancelled")
        for attempt in state.attempts.values():  # retried by the executor itself (Dask reschedules)
            if attempt.session == self.session and attempt.status == CRASHED and attempt.id not in self._crashes:
                self._crashes.add(attempt.id)
                self.say(f"trial {attempt.trial}: an attempt crashed (run {attempt.run or 'not started'}: "
                         f"{attempt.error})")
        for attempt_id in self.search.to_stop(state):
            self.record.write(event("stop", attempt=attempt_id, reason="pruned"))
        self.on_progress(state)

    def _cancel(self, why: str) -> None:
        self.cancelling = True
        self.search.clear()
        waiting = len(self.running)
        self.say(f"{why}: no new trial starts" + (f"; waiting for {waiting} running" if waiting else ""))

    def _interrupted(self, count: int) -> None:
        if count == 1:
            self.record.write(event("cancel", user=user_name(), reason="interrupted (Ctrl-C)"))
            self._cancel("interrupted")
            if self.running:
                self.say("Ctrl-C again to stop the running trials too")
            return
        state = self.record.state()
        for attempt in state.attempts.values():
            if attempt.session == self.session and attempt.status == RUNNING:
                self.record.write(event("stop", attempt=attempt.id, reason=STOPPED))
        self.say("stopping the running trials")
