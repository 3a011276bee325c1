"""What one run captures from a live kernel: cell executions, snapshots, params and warnings.

The kernel's thread calls `add_cell` (cheap: a sequence number and a deferred closure) and
`snapshot` (reads the notebook file or asks Colab); everything else (redaction, capping,
hashing, writing blobs, the reproducibility analysis) runs in the run's writer thread, in order.
"""

from __future__ import annotations

import json
import threading
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from nbtrack.capture.notebook import Location, read_notebook
from nbtrack.capture.outputs import Item, error_fields, to_nbformat
from nbtrack.capture.params import (
    INJECTED_TAG,
    PARAMETERS_TAG,
    is_papermill_injected,
    parameter_cells,
    parameters_of,
    parse_parameters,
)
from nbtrack.core import records
from nbtrack.core.cells import Execution, analyse, make_execution
from nbtrack.core.nbjson import cell_source
from nbtrack.core.outputs import DEFAULT_MAX_OUTPUT_BYTES, cap_output
from nbtrack.core.records import Record
from nbtrack.core.redact import Redactor
from nbtrack.core.snapshot import SnapshotWriter, canonical, rebuild_notebook


@dataclass
class CellRun:
    """One execution as the hooks saw it (kernel thread; nothing computed yet)."""

    source: str
    code: str | None  # IPython-transformed source, for the name analysis
    cell_id: str | None
    tags: tuple[str, ...]
    execution_count: int | None
    started: float
    ended: float
    error: BaseException | None
    items: list[Item]
    dropped: int


@dataclass
class PreStart:
    """What ran in the kernel before ``%nbtrack start``."""

    sources: list[str] = field(default_factory=list)  # In[1:start], in execution order
    tags: list[tuple[str, ...]] = field(default_factory=list)
    names: frozenset[str] = frozenset()  # user variables that existed at start
    counts: list[int] = field(default_factory=list)  # the execution count of each source


class Session:
    def __init__(self, run: Any, location: Location, pre_start: PreStart | None = None,
                 max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES, redactor: Redactor | None = None,
                 snapshots: SnapshotWriter | None = None) -> None:
        self.run = run
        self.location = location
        self.pre_start = pre_start or PreStart()
        self.max_output_bytes = max_output_bytes
        self.redactor = redactor or getattr(run, "redactor", None) or Redactor.from_environ()  # the run's registry
        self.snapshots = snapshots or SnapshotWriter(run.store.put_blob, self.redactor, max_output_bytes)
        self.seq = 0
        self.started = time.time()
        self.executions: list[Execution] = []  # appended by the writer thread
        self._captured: dict[str, dict[str, Any]] = {}  # cell key -> latest stored form (rebuilds)
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        for source in self.pre_start.sources:  # secrets assigned before start: masked in every output after
            self.redactor.text(source, code=True)
        self._pre_start_params()

    # ---- the kernel's thread
    def add_cell(self, cell: CellRun) -> None:
        seq, self.seq = self.seq, self.seq + 1
        self.run.defer(partial(self._cell_records, seq, cell))

    def snapshot(self, reason: str, current: CellRun | None = None) -> None:
        """Snapshot the notebook now (file, Colab, or rebuilt from the captured cells)."""
        notebook = read_notebook(self.location) if self.location.source != "rebuilt" else None
        self.run.defer(partial(self._snapshot_records, reason, notebook, current))

    def warnings(self) -> list[Record]:
        """Reproducibility warnings so far (also recorded on the run)."""
        self.run.flush()
        notebook = read_notebook(self.location) if self.location.source != "rebuilt" else None
        found, new = self._analyse(notebook)
        for record in new:
            self.run.write(record)
        return found

    # ---- the writer's thread
    def _cell_records(self, seq: int, cell: CellRun) -> list[Record]:
        redactor = self.redactor
        redactor.text(cell.source, code=True)  # learn the secrets the source assigns, before its outputs
        error = None
        if cell.error is not None:
            error = redactor.value(error_fields(cell.error))
            error["evalue"] = error["evalue"][: self.max_output_bytes]
        outputs = [redactor.value(cap_output(o, self.max_output_bytes))
                   for o in to_nbformat(cell.items, cell.dropped, cell.execution_count, error)]
        source = redactor.text(cell.source, code=True)  # after the outputs: it learned from them
        sha = self.run.store.put_blob(canonical(outputs)) if outputs else None
        execution = make_execution(seq, cell.cell_id, cell.source, cell.execution_count, cell.code)
        with self._lock:
            self.executions.append(execution)
            self._captured.pop(execution.key, None)  # a re-run moves to its latest position
            self._captured[execution.key] = {"source": source, "cell_id": cell.cell_id, "tags": list(cell.tags),
                                             "execution_count": cell.execution_count, "outputs": outputs}
        written: list[Record] = [records.cell(seq, cell.cell_id, cell.execution_count, source, cell.started,
                                              cell.ended, error, sha)]
        params = self._cell_params(cell)
        if params:
            written.append(records.params(redactor.mapping(params), cell.ended))
        return written

    def _cell_params(self, cell: CellRun) -> dict[str, Any]:
        if INJECTED_TAG in cell.tags or PARAMETERS_TAG in cell.tags:
            return parse_parameters(cell.source)
        if is_papermill_injected(cell.source):
            values = parse_parameters(cell.source)
            if values:
                with self._lock:
                    previous = list(self._captured.values())[-2:-1]
                    if previous and not previous[0]["tags"]:
                        previous[0]["tags"] = [PARAMETERS_TAG]
                        values = {**parse_parameters(previous[0]["source"]), **values}
                    self._captured[list(self._captured)[-1]]["tags"] = [INJECTED_TAG]
            return values
        return {}

    def _pre_start_params(self) -> None:
        pre = self.pre_start
        found = parameter_cells(pre.sources, pre.tags)
        values = parameters_of(pre.sources, cells=found)
        self._pre_start_kinds = found
        if values:
            self.run.write(records.params(self.redactor.mapping(values)))
        self.pre_start = PreStart(pre.sources, pre.tags, pre.names - set(values), pre.counts)

    def _snapshot_records(self, reason: str, notebook: dict[str, Any] | None, current: CellRun | None) -> list[Record]:
        source = self.location.source
        if notebook is None:
            notebook, source = self.rebuilt(current), "rebuilt"
        else:
            notebook = self._with_kernel_outputs(notebook)
            source = {"env": "disk", "server": "disk", "session-name": "disk"}.get(source, source)
        try:
            manifest, cells = self.snapshots.store(notebook)
        except ValueError:
            if source == "rebuilt":
                raise
            notebook, source = self.rebuilt(current), "rebuilt"  # an unreadable file: rebuild
            manifest, cells = self.snapshots.store(notebook)
        written: list[Record] = [records.snapshot(manifest, cells, reason, source, self.location.path)]
        return written + self._analyse(notebook if source != "rebuilt" else None)[1]

    def rebuilt(self, current: CellRun | None = None) -> Any:
        """The notebook rebuilt from what ran: pre-start cells, then each cell at its last run."""
        pre = self.pre_start
        cells: list[dict[str, Any]] = []
        for index, source in enumerate(pre.sources):
            kind = self._pre_start_kinds.get(index)
            cells.append(
                {
                    "source": self.redactor.text(source, code=True),
                    "execution_count": pre.counts[index] if index < len(pre.counts) else None,
                    "tags": [kind] if kind else list(pre.tags[index] if index < len(pre.tags) else ()),
                }
            )
        with self._lock:
            cells += [dict(c) for c in self._captured.values()]
        if current is not None:
            cells.append({"source": self.redactor.text(current.source, code=True), "cell_id": current.cell_id,
                          "execution_count": current.execution_count, "tags": list(current.tags)})
        return rebuild_notebook(cells, {"kernelspec": _kernelspec(self.location.kernel_name)})

    def _with_kernel_outputs(self, notebook: dict[str, Any]) -> dict[str, Any]:
        """The file's cells with the outputs this kernel produced for them (fresher than the last
        save), matched by cell id, else by identical source."""
        with self._lock:
            captured = list(self._captured.values())
        by_id = {c["cell_id"]: c for c in captured if c["cell_id"]}
        by_source = {c["source"]: c for c in captured}
        merged = json.loads(json.dumps(notebook, default=str))
        for cell in merged.get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            found = by_id.get(cell.get("id")) or by_source.get(self.redactor.text(cell_source(cell), code=True))
            if found is not None:
                cell["outputs"] = found["outputs"]
                cell["execution_count"] = found["execution_count"]
        return merged

    def _analyse(self, notebook: dict[str, Any] | None) -> tuple[list[Record], list[Record]]:
        """(every warning now, warning records not recorded before)."""
        with self._lock:
            executions = list(self.executions)
        cells: Sequence[tuple[str | None, str]] | None = None
        if notebook is not None:
            cells = [(c.get("id"), cell_source(c)) for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
        found: list[Record] = [self.redactor.value(w) for w in analyse(executions, cells, self.pre_start.names)]
        found_new: list[Record] = []
        with self._lock:
            for warning in found:
                key = json.dumps([warning["kind"], warning["cells"]])
                if key not in self._warned:
                    self._warned.add(key)
                    found_new.append(records.warning(warning["kind"], warning["message"], warning["cells"]))
        return found, found_new


def _kernelspec(name: str | None) -> dict[str, str]:
    return {"name": name or "python3", "display_name": "Python 3" if not name or name == "python3" else name,
            "language": "python"}


def names_before_start(user_ns: dict[str, Any], hidden: dict[str, Any] | None) -> frozenset[str]:
    """User variables at start (no IPython internals, modules, or underscore names)."""
    hidden = hidden or {}
    return frozenset(
        name for name, value in list(user_ns.items())
        if not name.startswith("_") and name not in hidden and not isinstance(value, types.ModuleType)
    )
