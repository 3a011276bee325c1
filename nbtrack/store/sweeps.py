"""A sweep in the store: its write-once events (``sweeps/<id>/<event id>``) and its state.

Any party appends an event by writing a new object (``Store.backend.write_once``), so the
process that starts a sweep, every worker running its trials, each trial's kernel (it names its
run: `announce_run`) and whoever cancels it never share a log (``nbtrack.core.sweep_state``
lists the events). Reading lists the sweep's objects and decodes only those not read before
(events never change once written).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Any

from nbtrack.core import framing
from nbtrack.core.ids import UnknownRun, new_run_id
from nbtrack.core.sweep_state import SweepState, event, reduce_sweep
from nbtrack.store.keys import sweep_event_key, sweep_prefix
from nbtrack.store.store import Store


class UnknownSweep(UnknownRun):
    """No such sweep (an unknown id, like an unknown run: the CLI and the REST API answer alike)."""


class SweepRecord:
    """The events of sweep `sweep_id` in `store`."""

    def __init__(self, store: Store, sweep_id: str) -> None:
        self.store = store
        self.id = sweep_id
        self._read: dict[str, list[dict[str, Any]]] = {}  # key -> its records
        self._lock = threading.Lock()

    @classmethod
    def of(cls, store: Store, sweep_id: str) -> SweepRecord:
        """The record of sweep `sweep_id` shared within this process (a worker running many
        trials, a server answering many polls): each event is read once."""
        return _shared(store, sweep_id)

    def write(self, event: Mapping[str, Any]) -> None:
        self.store.backend.write_once(sweep_event_key(self.id, new_run_id()), framing.encode(event))

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            for info in self.store.backend.list(sweep_prefix(self.id)):
                if info.key not in self._read:
                    self._read[info.key] = framing.decode(self.store.backend.read(info.key)).records
            return [record for key in sorted(self._read) for record in self._read[key]]

    def state(self) -> SweepState:
        state = reduce_sweep(self.events())
        if not state.id:
            raise UnknownSweep(f"no sweep {self.id} in the store {self.store.url}")
        state.id = self.id
        return state


@functools.lru_cache(maxsize=64)
def _shared(store: Store, sweep_id: str) -> SweepRecord:
    return SweepRecord(store, sweep_id)


def sweep_ids(store: Store) -> list[str]:
    """Every sweep in the store, oldest first."""
    return sorted({info.key.split("/")[1] for info in store.backend.list(sweep_prefix())})


def resolve_sweep(store: Store, prefix: str) -> str:
    """The one sweep id starting with `prefix`."""
    prefix = prefix.strip().lower()
    matches = [i for i in sweep_ids(store) if prefix and i.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnknownSweep(f"no sweep matches {prefix!r} in the store {store.url}")
    raise UnknownSweep(f"{prefix!r} matches {len(matches)} sweeps ({', '.join(matches[:5])}); type more characters")


def announce_run(store: Store, trial: Mapping[str, Any], run_id: str) -> None:
    """Called where a trial's run starts (its kernel): the ``started`` event naming the run of the
    attempt in `trial` (the header fields from ``$NBTRACK_SWEEP``)."""
    SweepRecord(store, str(trial["sweep"])).write(event("started", attempt=trial["attempt"], run=run_id))
