"""Tracking inside a kernel: start, stop, snapshot and status of the run a notebook drives.

The ``%nbtrack`` magic is a thin parser over this class. One `KernelTracker` per shell; it owns
the cell hooks and the capture session of the active run.
"""

from __future__ import annotations

import os
import time
from typing import Any

from nbtrack import api
from nbtrack.api import lifecycle
from nbtrack.capture.notebook import Location, kernel_id, kernel_name_for, locate, read_notebook
from nbtrack.capture.params import INJECTED_TAG, PARAMETERS_TAG
from nbtrack.capture.session import PreStart, Session, names_before_start
from nbtrack.core.nbjson import cell_source
from nbtrack.core.outputs import DEFAULT_MAX_OUTPUT_BYTES
from nbtrack.core.records import RUNNING
from nbtrack.core.redact import Redactor
from nbtrack.ipython.hooks import CellRecorder

ENV_MAX_OUTPUT = "NBTRACK_MAX_OUTPUT_BYTES"
SOURCE_NAMES = {"env": "$NBTRACK_NOTEBOOK", "vscode": "VS Code", "server": "the Jupyter server",
                "session-name": "$JPY_SESSION_NAME", "colab": "Colab", "rebuilt": "rebuilt from the captured cells"}


def _max_output_bytes() -> int:
    try:
        return max(1024, int(os.environ.get(ENV_MAX_OUTPUT, DEFAULT_MAX_OUTPUT_BYTES)))
    except ValueError:
        return DEFAULT_MAX_OUTPUT_BYTES


class KernelTracker:
    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.recorder = CellRecorder(shell, _max_output_bytes())

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
        kid = kernel_id()
        location = locate(self.shell.user_ns, kid)
        location.kernel_name = location.kernel_name or kernel_name_for()
        pre_start = self._pre_start(location)
        header: dict[str, Any] = {"notebook": location.path, "kernel_id": kid, "kernel_name": location.kernel_name}
        note = Redactor.from_environ().text(note) if note else note
        run = api.start(name, tags or [], note, store=store, **{k: v for k, v in header.items() if v})
        session = Session(run, location, pre_start, self.recorder.max_output_bytes)
        self.recorder.session = session
        if location.path:
            session.snapshot("start")
        lifecycle.add(lifecycle.before_exit, self._at_exit)  # snapshot and stop before the run finishes
        return run, finished

    def stop(self) -> str | None:
        """Record the current cell, snapshot the notebook and finish the run; returns its id."""
        session = self.session
        run = session.run if session is not None else api.active_run()
        if run is None:
            return None
        if session is not None:
            current = self.recorder.current_cell()
            if current is not None:
                session.add_cell(current)
            session.snapshot("stop")
            self.recorder.session = None
        run.finish()
        return str(run.id)

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

    def _pre_start(self, location: Location) -> PreStart:
        manager = getattr(self.shell, "history_manager", None)
        history = getattr(manager, "input_hist_raw", None) or self.shell.user_ns.get("In") or []
        history = list(history[1:])
        current = getattr(self.recorder.current_cell(), "source", None)
        # The cell running %nbtrack start is part of the run. IPython stores a cell's input before
        # running it, so it is the last entry; `current` is None when that same cell loaded the
        # extension (the hooks were installed after its pre_run_cell).
        if history and (current is None or history[-1] == current):
            history.pop()
        numbered = [(count, str(s)) for count, s in enumerate(history, start=1) if str(s).strip()]
        last_run = {source: count for count, source in numbered}  # a cell run twice: its last run
        numbered = [(count, source) for count, source in numbered if last_run[source] == count]
        sources = [source for _, source in numbered]
        tags_by_source: dict[str, tuple[str, ...]] = {}
        if location.path:
            notebook = read_notebook(location) or {}
            for cell in notebook.get("cells", []):
                tags = tuple(
                    t for t in (cell.get("metadata") or {}).get("tags") or () if t in (PARAMETERS_TAG, INJECTED_TAG)
                )
                if tags and cell.get("cell_type") == "code":
                    tags_by_source[cell_source(cell).strip()] = tags
        names = names_before_start(self.shell.user_ns, getattr(self.shell, "user_ns_hidden", None))
        return PreStart(sources, [tags_by_source.get(s.strip(), ()) for s in sources], names,
                        [count for count, _ in numbered])

    def _at_exit(self) -> None:
        try:
            self.stop()
        except Exception:
            pass

