"""A sweep's record: the events every party writes, and the sweep's state reduced from them.

A sweep is stored as write-once events (``sweeps/<id>/<event id>``, see ``nbtrack.store.keys``),
never as a log, so the process that starts it, the workers running its trials and anyone who
cancels it each write their own objects and no log ever has a second writer:

=========  ==============================================================================
event      written by, fields
=========  ==============================================================================
sweep      the starter, once: id, name, tags, notebook (path, sha256, source), spec, settings,
           user, host
launch     a driver starting or resuming it: session, executor, slots, trials, user, host,
           boot_id, pid
attempt    a worker starting a trial: session, trial, attempt, params, host, pid, boot_id
started    a worker that found the attempt's run: attempt, run
result     a worker (or the driver, for an attempt whose worker died): session, trial,
           attempt, status, run, error, metrics (final values)
stop       the driver, to stop one running attempt (a pruned trial): attempt, reason
cancel     anyone (``nbtrack sweep --cancel``, Ctrl-C): user, reason
end        a driver that is done with its session: session, status
=========  ==============================================================================

Through a team server every event also carries ``by``: the user the server authenticated (it
replaces whatever the client wrote there), which readers trust over ``user``.

Every trial run's header carries ``sweep``, ``trial`` and ``attempt`` (from ``$NBTRACK_SWEEP``)
and the tag ``sweep:<id>``, so run tables filter on ``sweep=ID``. Pure Python.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from nbtrack.core.identity import boot_id, pid_alive
from nbtrack.core.sweep_spec import OPTUNA, Spec

ENV_SWEEP = "NBTRACK_SWEEP"
PENDING, RUNNING, FINISHED, FAILED, CRASHED, PRUNED, CANCELLED = (
    "pending", "running", "finished", "failed", "crashed", "pruned", "cancelled")
OUTCOMES = (FINISHED, FAILED, CRASHED, PRUNED, CANCELLED)  # how an attempt ends
DONE = (FINISHED, FAILED, CRASHED, PRUNED)  # trials that ran to an end
CREATED, CANCELLING, INTERRUPTED = "created", "cancelling", "interrupted"
STOPPED = "stopped"  # the reason of a stop that is not pruning (a second Ctrl-C)
_ORDER = ("sweep", "launch", "attempt", "started", "result", "stop", "cancel", "end")
EVENT_KINDS = frozenset(_ORDER)


def event(kind: str, ts: float | None = None, **fields: Any) -> dict[str, Any]:
    """One event of the table above (None fields left out)."""
    if kind not in _ORDER:
        raise ValueError(f"unknown sweep event {kind!r}")
    return {"t": kind, "ts": time.time() if ts is None else ts, **{k: v for k, v in fields.items() if v is not None}}


def sweep_tag(sweep_id: str) -> str:
    return f"sweep:{sweep_id}"


def trial_environment(sweep_id: str, trial: int, attempt: str, tags: Sequence[str] = ()) -> str:
    """The value of ``$NBTRACK_SWEEP`` for a trial's kernel."""
    return json.dumps({"sweep": sweep_id, "trial": trial, "attempt": attempt, "tags": list(tags)})


def run_header_fields(value: str | None) -> tuple[dict[str, Any], list[str]]:
    """The header fields and tags a run started under ``$NBTRACK_SWEEP`` = `value` carries
    (nothing when it is unset or unreadable)."""
    if not value:
        return {}, []
    try:
        data = json.loads(value)
        sweep, trial, attempt = str(data["sweep"]), int(data["trial"]), str(data["attempt"])
    except (ValueError, KeyError, TypeError):
        return {}, []
    return {"sweep": sweep, "trial": trial, "attempt": attempt}, [sweep_tag(sweep), *map(str, data.get("tags") or [])]


@dataclass
class Attempt:
    id: str
    trial: int
    session: str
    params: dict[str, Any]
    started: float
    host: str = ""
    pid: int = 0
    boot_id: str = ""
    run: str | None = None
    status: str = RUNNING  # until its result
    error: str | None = None
    ended: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    stopping: str | None = None  # why the sweep asked it to stop (``pruned``, ``stopped``)


@dataclass
class Trial:
    index: int
    params: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None


@dataclass
class SweepState:
    id: str = ""
    name: str = ""
    tags: list[str] = field(default_factory=list)
    notebook: dict[str, Any] = field(default_factory=dict)  # path, sha256, source
    spec: Spec = field(default_factory=Spec)
    settings: dict[str, Any] = field(default_factory=dict)
    user: str = ""
    host: str = ""
    created: float = 0.0
    launches: list[dict[str, Any]] = field(default_factory=list)
    ends: dict[str, dict[str, Any]] = field(default_factory=dict)  # session -> end event
    cancels: list[dict[str, Any]] = field(default_factory=list)
    trials: dict[int, Trial] = field(default_factory=dict)
    attempts: dict[str, Attempt] = field(default_factory=dict)

    # ---- the sweep as a whole
    @property
    def session(self) -> dict[str, Any] | None:
        return self.launches[-1] if self.launches else None

    @property
    def cancelled(self) -> bool:
        """Cancelled since its last launch (a resume starts afresh)."""
        since = self.session["ts"] if self.session else 0.0
        return any(c["ts"] >= since for c in self.cancels)

    @cached_property
    def _driver(self) -> bool | None:
        session = self.session
        if session is None or session.get("boot_id") != boot_id():
            return None
        return pid_alive(int(session.get("pid") or 0))

    def driver_alive(self) -> bool | None:
        """Whether the last session's driver still runs (None: on another machine, unknown);
        asked once per state read."""
        return self._driver

    def status(self) -> str:
        session = self.session
        if session is None:
            return CANCELLED if self.cancels else CREATED
        end = self.ends.get(session["session"])
        if end is not None:
            return str(end.get("status", FINISHED))
        if self.driver_alive() is False:
            return CANCELLED if self.cancelled else INTERRUPTED
        return CANCELLING if self.cancelled else RUNNING

    @property
    def total(self) -> int:
        return max(self.spec.total, len(self.trials))

    # ---- trials
    def trial_status(self, trial: Trial) -> str:
        """A trial's status: its last attempt's outcome; an attempt of a session that is over
        without a result is crashed (its worker died); a trial never tried is pending, or
        cancelled when the sweep was."""
        last = trial.last
        if last is None:
            return CANCELLED if self.status() in (CANCELLED, CANCELLING) else PENDING
        if last.status == RUNNING and self._session_over(last.session):
            return CRASHED
        return last.status

    def _session_over(self, session: str) -> bool:
        if session in self.ends:
            return True
        current = self.session
        return current is None or current["session"] != session or self.driver_alive() is False

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys((PENDING, RUNNING, *OUTCOMES), 0)
        for trial in self.trials.values():
            found[self.trial_status(trial)] += 1
        if self.spec.search == OPTUNA:  # trials not asked yet
            found[CANCELLED if self.status() in (CANCELLED, CANCELLING) else PENDING] += max(
                self.total - len(self.trials), 0)
        return found

    def attempts_in(self, session: str, trial: int) -> list[Attempt]:
        return [a for a in self.trials[trial].attempts if a.session == session] if trial in self.trials else []

    def to_remaining(self) -> list[int]:
        """Trials a resume runs: every planned trial that did not finish."""
        return [i for i, t in sorted(self.trials.items()) if self.trial_status(t) != FINISHED]


def reduce_sweep(records: Iterable[Mapping[str, Any]]) -> SweepState:
    """The sweep's state from its events, whatever order they were read in (each party's clock
    may differ: events are applied kind by kind, then in time order)."""
    ordered = sorted(records, key=lambda r: (_ORDER.index(r["t"]) if r.get("t") in _ORDER else len(_ORDER),
                                            float(r.get("ts") or 0.0)))
    state = SweepState()
    for record in ordered:
        _APPLY.get(str(record.get("t")), lambda s, r: None)(state, record)
    return state


def _sweep(state: SweepState, r: Mapping[str, Any]) -> None:
    state.id, state.name = str(r.get("id", "")), str(r.get("name", ""))
    state.tags = [str(t) for t in r.get("tags") or []]
    state.notebook = dict(r.get("notebook") or {})
    state.spec = Spec.from_json(r.get("spec") or {})
    state.settings = dict(r.get("settings") or {})
    # `by`: the writer a team server authenticated, over what the client said
    state.user = str(r.get("by") or r.get("user", ""))
    state.host, state.created = str(r.get("host", "")), float(r["ts"])
    if state.spec.search != OPTUNA:
        state.trials = {i: Trial(i, params) for i, params in enumerate(state.spec.trials())}


def _attempt(state: SweepState, r: Mapping[str, Any]) -> None:
    index = int(r["trial"])
    attempt = Attempt(str(r["attempt"]), index, str(r.get("session", "")), dict(r.get("params") or {}),
                      float(r["ts"]), str(r.get("host", "")), int(r.get("pid") or 0), str(r.get("boot_id", "")))
    trial = state.trials.setdefault(index, Trial(index, attempt.params))
    trial.attempts.append(attempt)
    state.attempts[attempt.id] = attempt


def _started(state: SweepState, r: Mapping[str, Any]) -> None:
    attempt = state.attempts.get(str(r.get("attempt")))
    if attempt is not None and r.get("run"):
        attempt.run = str(r["run"])


def _result(state: SweepState, r: Mapping[str, Any]) -> None:
    attempt = state.attempts.get(str(r.get("attempt")))
    if attempt is None or attempt.status != RUNNING:  # unknown, or already ended (first result wins)
        return
    attempt.status = str(r.get("status", FAILED))
    attempt.run = str(r["run"]) if r.get("run") else attempt.run
    attempt.error, attempt.ended = r.get("error"), float(r["ts"])
    attempt.metrics = {str(k): float(v) for k, v in (r.get("metrics") or {}).items() if isinstance(v, (int, float))}


def _stop(state: SweepState, r: Mapping[str, Any]) -> None:
    attempt = state.attempts.get(str(r.get("attempt")))
    if attempt is not None:
        attempt.stopping = str(r.get("reason") or STOPPED)


def _end(state: SweepState, r: Mapping[str, Any]) -> None:
    state.ends[str(r.get("session"))] = dict(r)


_APPLY = {
    "sweep": _sweep,
    "launch": lambda s, r: s.launches.append(dict(r)),
    "attempt": _attempt,
    "started": _started,
    "result": _result,
    "stop": _stop,
    "cancel": lambda s, r: s.cancels.append(dict(r)),
    "end": _end,
}
