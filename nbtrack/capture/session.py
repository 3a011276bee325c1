"""What one run captures from a live kernel: cell executions, snapshots, params and warnings.

The kernel's thread calls `add_cell` (cheap: a sequence number and a deferred closure) and
`snapshot` (reads the notebook file or asks Colab); everything else (redaction, capping,
hashing, writing blobs, laying what ran over the file, params, the reproducibility analysis)
runs in the run's writer thread, in order.

The run starts knowing what the kernel ran before it (``before``: every cell since the kernel
started, from IPython's history and, since ``%load_ext nbtrack``, from the cell hooks with ids,
tags and outputs). Params come from the ``parameters`` cell wherever it ran (before or after
the start, re-run), overridden by papermill's ``injected-parameters`` cell; a cell's tags come
from the frontend, else from the notebook file (``capture.kernel_view``), else from papermill's
``# Parameters`` convention.
"""

from __future__ import annotations

import json
import os
import threading
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from nbtrack.capture.kernel_view import Overlay, Ran, overlay, pair, rebuild
from nbtrack.capture.notebook import Location, read_notebook
from nbtrack.capture.outputs import Item, error_fields, to_nbformat
from nbtrack.capture.params import INJECTED_TAG, PARAMETERS_TAG, is_papermill_injected, parse_parameters
from nbtrack.capture.rng import CellRng, encode
from nbtrack.core import records
from nbtrack.core.cells import Execution, analyse, cell_key, cell_label, make_execution, saved_differs
from nbtrack.core.nbjson import cell_source
from nbtrack.core.outputs import DEFAULT_MAX_OUTPUT_BYTES, merge_streams, prepare
from nbtrack.core.records import Record
from nbtrack.core.redact import Redactor
from nbtrack.core.snapshot import SnapshotWriter, canonical

FILE_SOURCES = {"env": "disk", "server": "disk", "session-name": "disk", "papermill": "disk", "found": "disk"}


@dataclass
class CellRun:
    """One execution as the hooks saw it (kernel thread; nothing computed yet)."""

    source: str
    code: str | None  # IPython-transformed source, for the name analysis
    cell_id: str | None
    tags: tuple[str, ...] | None  # from the frontend's request metadata; None: it sent none
    execution_count: int | None
    started: float | None  # None: ran before nbtrack was loaded
    ended: float | None
    error: BaseException | None
    items: list[Item]
    dropped: int
    outputs_known: bool = True  # False: ran before nbtrack was loaded (IPython's history only)
    rng: CellRng | None = None  # the global random generators' state before it ran


class Session:
    def __init__(self, run: Any, location: Location, before: Sequence[CellRun] = (),
                 names: frozenset[str] = frozenset(), max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
                 redactor: Redactor | None = None, snapshots: SnapshotWriter | None = None,
                 notebook: dict[str, Any] | None = None, saved_at: float | None = None,
                 namespace: dict[str, dict[str, Any]] | None = None) -> None:
        self.run = run
        self.location = location
        self.max_output_bytes = max_output_bytes
        self.redactor = redactor or getattr(run, "redactor", None) or Redactor.from_environ()  # the run's registry
        self.snapshots = snapshots or SnapshotWriter(run.store.put_blob, self.redactor, max_output_bytes)
        self.seq = 0
        self.started = time.time()
        self.names_before = names  # user variables at start, less the params
        self.executions: list[Execution] = []  # appended by the writer thread
        self._ran: dict[str, Ran] = {}  # cell key -> as it last ran, in first-run order
        self._last: dict[str, int] = {}  # cell key -> order of its last run (rebuilds)
        self._order = 0
        self._file: tuple[dict[str, Any] | None, float | None] = (notebook, saved_at)
        self._parameters: dict[str, Any] = {}  # the parameters cell's values, as last run
        self._injected: dict[str, Any] = {}  # papermill's injected values: they win
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._rng_blob: tuple[Any, str | None] = (None, None)  # (last Reading, its blob)
        run.defer(partial(self._begin, list(before), namespace or {}))

    # ---- the kernel's thread
    def add_cell(self, cell: CellRun) -> None:
        seq, self.seq = self.seq, self.seq + 1
        self.run.defer(partial(self._cell_records, seq, cell))

    def snapshot(self, reason: str, current: CellRun | None = None) -> None:
        """Snapshot the notebook now (file, Colab, or rebuilt from the captured cells)."""
        notebook, saved_at = self.read()
        self.run.defer(partial(self._snapshot_records, reason, notebook, saved_at, current))

    def read(self) -> tuple[dict[str, Any] | None, float | None]:
        return read_saved(self.location)

    def warnings(self) -> list[Record]:
        """Reproducibility warnings so far (also recorded on the run)."""
        self.run.flush()
        notebook, saved_at = self.read()
        found, new = self._analyse(self._view(notebook, saved_at), saved_at)
        for record in new:
            self.run.write(record)
        return found

    # ---- the writer's thread
    def _begin(self, before: list[CellRun], namespace: dict[str, dict[str, Any]]) -> list[Record]:
        """What ran before the start: remembered, and its parameters cells give the run's params.
        When none of them was seen running (nbval keeps no input history), `namespace` gives
        the values the file's parameters cells assign as the kernel holds them at the start."""
        values: dict[str, Any] = {}
        previous: Ran | None = None
        for cell in before:
            outputs = self._outputs(cell)[0] if cell.outputs_known else None
            entry = self._remember(cell, outputs)
            values.update(self._params_of(entry, previous))
            previous = entry
        if not self._parameters and not self._injected and namespace:
            self._parameters = dict(namespace.get(PARAMETERS_TAG) or {})
            self._injected = dict(namespace.get(INJECTED_TAG) or {})
            values = {**self._parameters, **self._injected}
        self.names_before = self.names_before - set(values)
        return [records.params(self.redactor.mapping(values))] if values else []

    def _outputs(self, cell: CellRun) -> tuple[list[dict[str, Any]], list[str]]:
        self.redactor.text(cell.source, code=True)  # learn the secrets the source assigns, before its outputs
        error = None
        if cell.error is not None:
            error = self.redactor.value(error_fields(cell.error))
            error["evalue"] = error["evalue"][: self.max_output_bytes]
        outputs, blobs = [], []
        for output in merge_streams(to_nbformat(cell.items, cell.dropped, cell.execution_count, error)):
            stored, referenced = prepare(output, self.run.store.put_blob, self.redactor.value, self.max_output_bytes)
            outputs.append(stored)
            blobs += referenced
        return outputs, blobs

    def _remember(self, cell: CellRun, outputs: list[dict[str, Any]] | None) -> Ran:
        key = cell_key(cell.cell_id, cell.source)
        entry = Ran(key, cell.source, cell.cell_id, cell.tags, cell.execution_count, cell.started, outputs)
        with self._lock:
            self._ran[key] = entry
            self._order += 1
            self._last[key] = self._order
        return entry

    def _cell_records(self, seq: int, cell: CellRun) -> list[Record]:
        outputs, blobs = self._outputs(cell)
        source = self.redactor.text(cell.source, code=True)  # after the outputs: it learned from them
        sha = self.run.store.put_blob(canonical(outputs)) if outputs else None
        execution = make_execution(seq, cell.cell_id, cell.source, cell.execution_count, cell.code, cell.started)
        with self._lock:
            previous = self._ran_before(execution.key)
            self.executions.append(execution)
        entry = self._remember(cell, outputs)
        error = outputs[-1] if cell.error is not None and outputs and outputs[-1]["output_type"] == "error" else None
        started = cell.started if cell.started is not None else self.started
        ended = cell.ended if cell.ended is not None else started
        written: list[Record] = [records.cell(seq, cell.cell_id, cell.execution_count, source, started, ended,
                                              _error_record(error), sha, blobs, rng=self._rng_sha(cell.rng))]
        params = self._params_of(entry, previous)
        if params:
            written.append(records.params(self.redactor.mapping(params), ended))
        return written

    def _rng_sha(self, rng: CellRng | None) -> str | None:
        """The blob of a cell's random state (each distinct state stored once)."""
        if rng is None or (rng.before is None and not rng.imported):
            return None
        if rng.before is self._rng_blob[0] and not rng.imported:
            return self._rng_blob[1]
        sha = self.run.store.put_blob(encode(rng))
        if not rng.imported:
            self._rng_blob = (rng.before, sha)
        return sha

    def _ran_before(self, key: str) -> Ran | None:
        """The cell that ran last before this one (the kernel's previous execution)."""
        if not self._last:
            return None
        last = max(self._last, key=self._last.__getitem__)
        return self._ran.get(last) if last != key else None

    # ---- params
    def _params_of(self, entry: Ran, previous: Ran | None) -> dict[str, Any]:
        """The params an execution sets (nothing for an ordinary cell); its kind is kept on
        `entry`, so snapshots tag the cell as the run understood it."""
        kind = entry.kind = self._kind(entry)
        if kind == INJECTED_TAG:
            values = parse_parameters(entry.source)
            self._injected.update(values)
            if previous is not None and entry.tags is None and self._kind(previous) is None \
                    and is_papermill_injected(entry.source) and previous.tags is None \
                    and parse_parameters(previous.source):
                # papermill's convention: the cell it injects follows the parameters cell
                previous.kind = PARAMETERS_TAG
                self._parameters = parse_parameters(previous.source)
                return {**self._parameters, **values}
            return values
        if kind == PARAMETERS_TAG:
            self._parameters = parse_parameters(entry.source)
            return {k: v for k, v in self._parameters.items() if k not in self._injected}
        return {}

    def _kind(self, entry: Ran) -> str | None:
        tags = entry.tags if entry.tags is not None else self._file_tags(entry)
        if tags is not None:
            if INJECTED_TAG in tags:
                return INJECTED_TAG
            if PARAMETERS_TAG in tags:
                return PARAMETERS_TAG
            return None
        if is_papermill_injected(entry.source) and parse_parameters(entry.source):
            return INJECTED_TAG
        return None

    def _file_tags(self, entry: Ran) -> tuple[str, ...] | None:
        """The tags of the file's cell that `entry` ran as (None: no file, or no such cell)."""
        notebook = self._file[0]
        if notebook is None:
            return None
        code = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
        for cell in code:
            if entry.cell_id and cell.get("id") == entry.cell_id:
                return tuple((cell.get("metadata") or {}).get("tags") or ())
        for cell in code:
            if cell_source(cell).strip() == entry.source.strip():
                return tuple((cell.get("metadata") or {}).get("tags") or ())
        if not parse_parameters(entry.source) or not any(
            {PARAMETERS_TAG, INJECTED_TAG} & set((c.get("metadata") or {}).get("tags") or ()) for c in code
        ):
            return None
        with self._lock:
            ran = list(self._ran.values())
        if entry.key not in self._ran:
            ran.append(entry)
        index = pair([(c.get("id"), cell_source(c)) for c in code], ran).get(entry.key)
        return tuple((code[index].get("metadata") or {}).get("tags") or ()) if index is not None else None

    # ---- snapshots and warnings
    def _view(self, notebook: dict[str, Any] | None, saved_at: float | None,
              current: Ran | None = None) -> Overlay | None:
        with self._lock:
            ran = list(self._ran.values())
        if current is not None:
            ran = [r for r in ran if r.key != current.key] + [current]
        return overlay(notebook, ran, saved_at) if notebook is not None else None

    def _snapshot_records(self, reason: str, notebook: dict[str, Any] | None, saved_at: float | None,
                          current: CellRun | None) -> list[Record]:
        if notebook is not None:
            self._file = (notebook, saved_at)
        partial_cell = None
        if current is not None:
            key = cell_key(current.cell_id, current.source)
            partial_cell = Ran(key, current.source, current.cell_id, current.tags, current.execution_count,
                               current.started, self._outputs(current)[0], running=True)
        view = self._view(notebook, saved_at, partial_cell)
        source = FILE_SOURCES.get(self.location.source, self.location.source)
        try:
            if view is None:
                raise ValueError("no notebook file")
            manifest, refs = self.snapshots.store(view.notebook)
        except ValueError:
            view, source = None, "rebuilt"  # no file, or an unreadable one: rebuild
            manifest, refs = self.snapshots.store(self.rebuilt(partial_cell))
        written: list[Record] = [records.snapshot(manifest, refs, reason, source, self.location.path)]
        return written + self._analyse(view, saved_at)[1]

    def rebuilt(self, current: Ran | None = None) -> dict[str, Any]:
        """The notebook rebuilt from what ran: each cell once, at its last run."""
        with self._lock:
            ran = sorted(self._ran.values(), key=lambda r: self._last[r.key])
        if current is not None:
            ran = [r for r in ran if r.key != current.key] + [current]
        return rebuild(ran, {"kernelspec": _kernelspec(self.location.kernel_name)})

    def _analyse(self, view: Overlay | None, saved_at: float | None) -> tuple[list[Record], list[Record]]:
        """(every warning now, warning records not recorded before)."""
        with self._lock:
            executions = list(self.executions)
            ran = dict(self._ran)
        cells: Sequence[tuple[str | None, str]] | None = None
        found: list[dict[str, Any]] = []
        if view is not None:
            cells = [(c.get("id"), cell_source(c)) for c in view.notebook.get("cells", [])
                     if c.get("cell_type") == "code"]
            labels = {ex.key: ex.label for ex in executions}
            differs = [(labels.get(key) or cell_label(ran[key].cell_id, ran[key].execution_count, 0),
                        ran[key].started if ran[key].started is not None else _kernel_started())
                       for key in view.saved if key in ran]
            found = saved_differs(differs, saved_at)
        found = analyse(executions, cells, self.names_before) + found
        warnings: list[Record] = [self.redactor.value(w) for w in found]
        found_new: list[Record] = []
        with self._lock:
            for warning in warnings:
                key = json.dumps([warning["kind"], warning["cells"]])
                if key not in self._warned:
                    self._warned.add(key)
                    found_new.append(records.warning(warning["kind"], warning["message"], warning["cells"]))
        return warnings, found_new


def read_saved(location: Location) -> tuple[dict[str, Any] | None, float | None]:
    """The notebook as saved (or as Colab's frontend holds it: no save time) and when it was
    saved; (None, None) when it cannot be had."""
    if location.source == "rebuilt":
        return None, None
    notebook = read_notebook(location)
    saved_at = None
    if notebook is not None and location.path and location.source != "colab":
        try:
            saved_at = os.path.getmtime(location.path)
        except OSError:
            saved_at = None
    return notebook, saved_at


def _kernel_started() -> float | None:
    """No later than this kernel started (cells that ran before nbtrack was loaded ran after
    it): when its connection file was written, which precedes the kernel's start."""
    try:
        from ipykernel.connect import get_connection_file

        return os.path.getmtime(get_connection_file())
    except Exception:
        return None


def _error_record(output: dict[str, Any] | None) -> dict[str, Any] | None:
    if output is None:
        return None
    return {"ename": output.get("ename", ""), "evalue": output.get("evalue", ""),
            "traceback": list(output.get("traceback") or [])}


def _kernelspec(name: str | None) -> dict[str, str]:
    return {"name": name or "python3", "display_name": "Python 3" if not name or name == "python3" else name,
            "language": "python"}


def namespace_params(notebook: dict[str, Any] | None, user_ns: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For each kind of parameters cell in `notebook` (``parameters``, ``injected-parameters``)
    whose every name is defined in the kernel: those names' values as the kernel holds them
    (plain JSON values; others as the cell's expression text)."""
    found: dict[str, dict[str, Any]] = {}
    for cell in (notebook or {}).get("cells", []):
        tags = set((cell.get("metadata") or {}).get("tags") or ()) if cell.get("cell_type") == "code" else set()
        for kind in (PARAMETERS_TAG, INJECTED_TAG):
            assigned = parse_parameters(cell_source(cell)) if kind in tags else {}
            if assigned and all(name in user_ns for name in assigned):
                found[kind] = {name: user_ns[name] if _plain(user_ns[name]) else text
                               for name, text in assigned.items()}
    return found


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def names_before_start(user_ns: dict[str, Any], hidden: dict[str, Any] | None) -> frozenset[str]:
    """User variables at start (no IPython internals, modules, or underscore names)."""
    hidden = hidden or {}
    return frozenset(
        name for name, value in list(user_ns.items())
        if not name.startswith("_") and name not in hidden and not isinstance(value, types.ModuleType)
    )
