"""Tracking inside a kernel: start, stop, snapshot and status of the runs a notebook drives.

The ``%nbtrack`` magic is a thin parser over this class. One `KernelTracker` per shell; it owns
the cell hooks and the capture session of the active run. Every run started in the kernel,
by ``%nbtrack start`` or by ``nbtrack.start()`` in a cell (a sweep starting nine runs in a
loop), goes through the same lifecycle hooks (``nbtrack.api.lifecycle``): the header names the
notebook and the kernel, the session records the cells and the params, and the notebook is
snapshotted at the start and at the finish. A run started by a cell also records which cell
started it and how many runs that cell had started before (``started_in_cell``), so a replay
can tell the runs of a loop apart.
"""

from __future__ import annotations

import os
import time
from typing import Any

from nbtrack import api
from nbtrack.api import lifecycle
from nbtrack.capture.notebook import Location, kernel_id, kernel_name_for, locate
from nbtrack.capture.session import CellRun, Session, names_before_start, namespace_params, read_saved
from nbtrack.core.cells import cell_key
from nbtrack.core.outputs import DEFAULT_MAX_OUTPUT_BYTES
from nbtrack.core.records import RUNNING
from nbtrack.core.redact import Redactor
from nbtrack.ipython.hooks import CellRecorder

ENV_MAX_OUTPUT = "NBTRACK_MAX_OUTPUT_BYTES"
SOURCE_NAMES = {"env": "$NBTRACK_NOTEBOOK", "vscode": "VS Code", "server": "the Jupyter server",
                "session-name": "$JPY_SESSION_NAME", "colab": "Colab", "rebuilt": "rebuilt from the captured cells",
                "papermill": "papermill's output notebook", "found": "the notebook in the working folder holding "
                "the cells that ran"}


def _max_output_bytes() -> int:
    try:
        return max(1024, int(os.environ.get(ENV_MAX_OUTPUT, DEFAULT_MAX_OUTPUT_BYTES)))
    except ValueError:
        return DEFAULT_MAX_OUTPUT_BYTES


class KernelTracker:
    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.recorder = CellRecorder(shell, _max_output_bytes())
        self._location: Location | None = None  # located for the run about to start

    @property
    def session(self) -> Session | None:
        session = self.recorder.session
        if session is not None and session.run.status != RUNNING:
            self.recorder.session = session = None
        return session

    def load(self) -> None:
        self.recorder.install()

    def unload(self) -> None:
        self.recorder.remove()

    def start(self, name: str | None = None, tags: list[str] | None = None, note: str | None = None,
              store: str | None = None) -> tuple[Any, str | None]:
        """Start a run (finishing the active one first); returns (run, id of the finished run)."""
        finished = self.stop()
        note = Redactor.from_environ().text(note) if note else note
        run = api.start(name, tags or [], note, store=store)
        return run, finished

    def stop(self) -> str | None:
        """Finish the active run (its last cell and snapshot are recorded as it finishes);
        returns its id."""
        session = self.session
        run = session.run if session is not None else api.active_run()
        if run is None:
            return None
        run.finish()
        return str(run.id)

    # ---- the lifecycle of every run started in this kernel
    def header(self) -> dict[str, Any]:
        """Header fields of a run about to start: its notebook, kernel and starting cell."""
        kid = kernel_id()
        current = self.recorder.current_cell()
        sources = [c.source for c in self._before_start()] + ([current.source] if current is not None else [])
        location = locate(self.shell.user_ns, kid, sources)
        location.kernel_name = location.kernel_name or kernel_name_for()
        self._location = location
        fields: dict[str, Any] = {"notebook": location.path, "kernel_id": kid, "kernel_name": location.kernel_name,
                                  "hash_seed": os.environ.get("PYTHONHASHSEED") or "random"}
        if current is not None:
            fields["started_in_cell"] = {"cell": cell_key(None, current.source), "index": self.recorder.starts_in_cell}
            self.recorder.starts_in_cell += 1
        return {k: v for k, v in fields.items() if v is not None}

    def started(self, run: Any) -> None:
        location = self._location or locate(self.shell.user_ns, kernel_id())
        self._location = None
        notebook, saved_at = read_saved(location)
        names = names_before_start(self.shell.user_ns, getattr(self.shell, "user_ns_hidden", None))
        session = Session(run, location, self._before_start(), names, self.recorder.max_output_bytes,
                          notebook=notebook, saved_at=saved_at,
                          namespace=namespace_params(notebook, self.shell.user_ns))
        self.recorder.session = session
        session.snapshot("start", current=self.recorder.current_cell())
        lifecycle.add(lifecycle.before_exit, self._at_exit)  # snapshot and stop before the run finishes

    def finishing(self, run: Any) -> None:
        """The run is finishing: its current cell (as far as it got) and a last snapshot."""
        session = self.recorder.session
        if session is None or session.run is not run:
            return
        current = self.recorder.current_cell()
        if current is not None:
            session.add_cell(current)
        session.snapshot("stop", current=current)
        self.recorder.session = None

    # ---- the magic's other verbs
    def snapshot(self) -> str:
        session = self._require()
        session.snapshot("manual", current=self.recorder.current_cell())
        session.run.flush()
        return session.location.source

    def note(self, text: str) -> None:
        session = self._require()
        session.run.note(session.redactor.text(text))

    def status(self) -> list[str]:
        session = self.session
        if session is None:
            run = api.active_run()
            if run is None:
                return ["nbtrack: no active run (start one with %nbtrack start NAME)"]
            return [f"nbtrack: run {run.id} is active but was started outside %nbtrack (no cell capture)"]
        run = session.run
        warnings = session.warnings()
        where = session.location
        lines = [
            f"nbtrack: run {run.id} {run.name!r} running for {time.time() - session.started:.0f}s, "
            f"{session.seq} cells recorded",
            f"store:    {Redactor.from_environ().text(run.store.url)}",
            f"notebook: {where.path or '-'} ({SOURCE_NAMES.get(where.source, where.source)})",
        ]
        if self.recorder.failed:
            lines.append("capture:  stopped after an internal error (see the message above)")
        lines += [f"writer:   {problem}" for problem in run.problems]  # store outages, lost records
        lines.append("warnings:" if warnings else "warnings: none")
        lines += [f"  {w['kind']}: {w['message']}" for w in warnings]
        return lines

    def _require(self) -> Session:
        session = self.session
        if session is None:
            raise RuntimeError("no active run; start one with %nbtrack start NAME")
        return session

    def _before_start(self) -> list[CellRun]:
        """Every cell the kernel ran before the current one, oldest first: from IPython's input
        history, with what the hooks saw of it (id, tags, outputs) since ``%load_ext nbtrack``."""
        manager = getattr(self.shell, "history_manager", None)
        history = getattr(manager, "input_hist_raw", None) or self.shell.user_ns.get("In") or []
        history = list(history[1:])
        current = self.recorder.current_cell()
        # The running cell (the one starting the run) is part of the run. IPython stores a cell's
        # input before running it, so it is the last entry.
        if history and (current is None or str(history[-1]) == current.source):
            history.pop()
        seen = self.recorder.seen
        cells = []
        for count, source in enumerate(history, start=1):
            source = str(source)
            if not source.strip():
                continue
            cell = seen.get(count)
            if cell is None or cell.source != source:
                cell = CellRun(source, None, None, None, count, None, None, None, [], 0, outputs_known=False)
            cells.append(cell)
        return cells

    def _at_exit(self) -> None:
        try:
            self.stop()
        except Exception:
            pass
