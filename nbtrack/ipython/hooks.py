"""The cell hooks: IPython's ``pre_run_cell``/``post_run_cell`` events, kept cheap and harmless.

On the hot path they read a clock, keep a reference to IPython's ExecutionInfo and hand a
`CellRun` to the session (a deque append); output copying is a list append per write. Every
cell since ``%load_ext nbtrack`` is remembered (`seen`, by execution count), run or no run: a
run started later knows what ran before it (the parameters cell, tags, outputs). Any exception
inside them is reported once in the notebook, and the hooks then remove themselves: the user's
cell never sees an nbtrack exception.
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from nbtrack.capture.rng import ENTROPY, CellRng, ImportWatch, RngWatch, numpy_import_state
from nbtrack.capture.session import CellRun, Session
from nbtrack.core.outputs import DEFAULT_MAX_OUTPUT_BYTES
from nbtrack.core.records import RUNNING
from nbtrack.ipython.tee import OutputBuffer, OutputTee

FAILURE_MESSAGE = (
    "nbtrack: cell capture stopped after an internal error ({error}); your cells are not affected "
    "and the run goes on without cell capture. Please report this error.\n"
)
SEEN_CELLS = 5000  # cells remembered outside runs (sources, ids, tags)
SEEN_OUTPUTS = 200  # of which the latest keep their outputs (references, not copies)


class CellRecorder:
    def __init__(self, shell: Any, max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> None:
        self.shell = shell
        self.max_output_bytes = max_output_bytes
        self.session: Session | None = None
        self.failed = False
        self.installed = False
        self._clock: Callable[[], float] = time.time
        self._info: Any = None
        self._started = 0.0
        self._count_at_pre = 0
        self._count_offset = 1
        self._buffer: OutputBuffer | None = None
        self._tee = OutputTee(shell, lambda: self._buffer, self.fail)
        self.seen: OrderedDict[int, CellRun] = OrderedDict()  # execution count -> cell, since load
        self._with_outputs: deque[int] = deque()  # counts of the cells in `seen` that keep outputs
        self.starts_in_cell = 0  # runs started by the running cell
        self._rng_watch = RngWatch()
        self._rng: CellRng | None = None  # the random state before the running cell (in a run)
        self._imports = ImportWatch(self._imported)

    def install(self) -> None:
        if self.installed or self.failed:
            return
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        self._tee.install()
        self._imports.install()
        self.installed = True
        if self._info is None:  # loaded by a running cell: it is the cell running now
            info = _running_cell(self.shell)
            if info is not None:
                self._info = info
                self._started = self._clock()
                self._count_at_pre = self.shell.execution_count
                self._buffer = OutputBuffer(self.max_output_bytes)

    def remove(self) -> None:
        for event, callback in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                self.shell.events.unregister(event, callback)
            except ValueError:
                pass
        self._tee.remove()
        self._imports.remove()
        ENTROPY.remove()
        self.installed = False

    # ---- the hot path
    def pre_run_cell(self, info: Any = None) -> None:
        try:
            self._started = self._clock()
            self._info = info
            self._count_at_pre = self.shell.execution_count
            self._buffer = OutputBuffer(self.max_output_bytes)
            self.starts_in_cell = 0
            self._rng = CellRng(self._rng_watch.read()) if self.session is not None else None
            self._tee.ensure_streams()
        except Exception as exc:
            self.fail(exc)

    def post_run_cell(self, result: Any = None) -> None:
        try:
            session = self.session
            if session is not None and session.run.status != RUNNING:  # finished through the Python API
                self.session = session = None
            cell = self._cell(result, self._clock())
            if result is not None and result.execution_count is not None and info_is(result, self._info):
                self._count_offset = self._count_at_pre - result.execution_count
            if cell is not None:
                if session is not None:
                    session.add_cell(cell)
                self._remember(cell, keep_outputs=session is None)
        except Exception as exc:
            self.fail(exc)
        finally:
            self._info = self._buffer = self._rng = None

    def _imported(self) -> None:
        """A library was imported by the running cell: its freshly seeded state is replayed too."""
        if self._rng is not None:
            self._rng.imported.update(numpy_import_state())

    def _remember(self, cell: CellRun, keep_outputs: bool) -> None:
        count = cell.execution_count
        if count is None:
            return
        seen = self.seen
        seen[count] = cell if keep_outputs else replace(cell, items=[], outputs_known=False)
        if len(seen) > SEEN_CELLS:
            seen.popitem(last=False)
        if keep_outputs:
            kept = self._with_outputs
            kept.append(count)
            if len(kept) > SEEN_OUTPUTS:
                old = seen.get(kept.popleft())
                if old is not None and old.items:
                    seen[old.execution_count] = replace(old, items=[], outputs_known=False)  # type: ignore[index]

    def _cell(self, result: Any, ended: float) -> CellRun | None:
        info = getattr(result, "info", None) or self._info
        if info is None:
            return None
        started = self._started if info is self._info else getattr(self.session, "started", ended)
        buffer = self._buffer
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        meta = getattr(info, "cell_meta", None)
        return CellRun(
            source=info.raw_cell or "",
            code=getattr(info, "transformed_cell", None),
            cell_id=getattr(info, "cell_id", None),
            tags=tuple(meta.get("tags") or ()) if meta and isinstance(meta, dict) else None,
            execution_count=getattr(result, "execution_count", None),
            started=started,
            ended=ended,
            error=error,
            items=buffer.items if buffer is not None else [],
            dropped=buffer.dropped if buffer is not None else 0,
            rng=self._rng if info is self._info else None,
        )

    def current_cell(self) -> CellRun | None:
        """The cell running now, as far as it got (for ``%nbtrack stop`` and snapshots)."""
        if self._info is None:
            return None
        # IPython 9 counts the cell before pre_run_cell, IPython 8 after it: learned per shell
        count = (
            self._count_at_pre - self._count_offset
            if getattr(self._info, "store_history", True)
            else self._count_at_pre
        )
        result = _Partial(self._info, count)
        return self._cell(result, self._clock())

    # ---- failures
    def fail(self, exc: BaseException) -> None:
        """Report once in the notebook, then take the hooks out."""
        if self.failed:
            return
        self.failed = True
        try:
            self.remove()
        finally:
            try:
                sys.stderr.write(FAILURE_MESSAGE.format(error=f"{type(exc).__name__}: {exc}"))
            except Exception:
                pass


class _RunningInfo:
    """The running cell when the hooks were installed by it (its pre_run_cell was missed)."""

    def __init__(self, source: str, metadata: dict[str, Any] | None, store_history: bool) -> None:
        self.raw_cell = source
        self.transformed_cell = None
        self.cell_meta = metadata or None
        self.cell_id = (metadata or {}).get("cellId")
        self.store_history = store_history


def _running_cell(shell: Any) -> _RunningInfo | None:
    """The cell running now: the kernel's execute request, else IPython's input history."""
    kernel = getattr(shell, "kernel", None)
    try:
        parent = kernel.get_parent("shell") if kernel is not None else None
    except Exception:
        parent = None
    if isinstance(parent, dict) and parent.get("msg_type", parent.get("header", {}).get("msg_type")) == \
            "execute_request":
        content = parent.get("content") or {}
        return _RunningInfo(str(content.get("code", "")), parent.get("metadata"),
                            bool(content.get("store_history", True)))
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or []
    return _RunningInfo(str(history[-1]), None, True) if len(history) > 1 else None


def info_is(result: Any, info: Any) -> bool:
    return getattr(result, "info", None) is info


class _Partial:
    """Stands in for an ExecutionResult while the cell is still running."""

    def __init__(self, info: Any, execution_count: int | None) -> None:
        self.info = info
        self.execution_count = execution_count
        self.error_in_exec = self.error_before_exec = None
