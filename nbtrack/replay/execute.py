"""Executing a rebuilt notebook with papermill, in its own kernel environment and folder.

papermill's own ``cwd`` changes the working directory of the whole process, which is not safe
when replays run in a server's worker threads; here the kernel is started in the folder and
with the environment variables given (``Popen`` arguments), and nothing process-wide changes.
A failure (a cell raising where the original did not, a dead kernel, a kernel that never
started) is returned as text with the partial notebook, never raised. Setting the `stop` event
interrupts the kernel (SIGINT to its process group, as a notebook's stop button does): the
running cell raises KeyboardInterrupt and execution ends there (sweeps stop pruned trials so).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
from nbformat import NotebookNode
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.execute import remove_error_markers
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from nbtrack.core.records import CRASHED, FAILED

ENGINE = "nbtrack-replay"
Progress = Callable[[int, int], None]


class ReplayEngine(NBClientEngine):
    """papermill's nbclient engine, starting the kernel with `kernel_env` in `kernel_cwd`."""

    @classmethod
    def execute_notebook(cls, nb: NotebookNode, kernel_name: str, source_label: str | None = None,
                         **kwargs: Any) -> NotebookNode:
        if source_label:  # papermill would record the whole input notebook as its "input_path"
            nb.metadata.papermill["input_path"] = source_label
        return super().execute_notebook(nb, kernel_name, **kwargs)

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        kernel_env: Mapping[str, str] | None = None,
        kernel_cwd: str | None = None,
        stop: threading.Event | None = None,
        **kwargs: Any,
    ) -> NotebookNode:
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            kwargs, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
            log=logger,
            log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
        )
        launch: dict[str, Any] = {}
        if kernel_env is not None:
            launch["env"] = dict(kernel_env)
        if kernel_cwd is not None:
            launch["cwd"] = kernel_cwd
        client = PapermillNotebookClient(nb_man, **final_kwargs)
        if stop is None:
            return client.execute(**launch)
        finished = threading.Event()
        threading.Thread(target=_interrupt_on, args=(stop, finished, client), daemon=True).start()
        try:
            return client.execute(**launch)
        finally:
            finished.set()


def _interrupt_on(stop: threading.Event, finished: threading.Event, client: Any) -> None:
    """Interrupt `client`'s kernel once `stop` is set, again every second until execution ends (an
    interrupt that lands between two cells interrupts nothing)."""
    while not finished.is_set():
        if not stop.wait(0.2):
            continue
        pid = getattr(getattr(getattr(client, "km", None), "provisioner", None), "pid", None)
        if pid:
            try:
                os.killpg(os.getpgid(pid), signal.SIGINT)
            except (ProcessLookupError, PermissionError):
                pass
        finished.wait(1.0 if pid else 0.2)


papermill_engines.register(ENGINE, ReplayEngine)


@dataclass
class Execution:
    nb: NotebookNode  # the executed notebook, partial when execution stopped
    error: str | None  # why execution stopped early, or None
    failed_cell: int | None = None  # index of the cell that stopped it
    crashed: bool = False  # the kernel died or never started (not a cell's fault)

    @property
    def failure(self) -> str:
        """The status of a run recorded for this execution when tracking never started."""
        return CRASHED if self.crashed else FAILED


def _progress_hook(progress: Progress | None, total: int) -> Callable[..., None] | None:
    if progress is None:
        return None
    done = [0]

    def on_cell_executed(**_: Any) -> None:
        done[0] += 1
        try:
            progress(done[0], total)
        except Exception:  # a broken progress display must not stop the replay
            pass

    return on_cell_executed


def execute(
    nb: NotebookNode,
    output_path: Path,
    *,
    kernel_name: str,
    cwd: Path,
    env: Mapping[str, str],
    progress: Progress | None = None,
    progress_bar: bool = False,
    start_timeout: int = 120,
    source_label: str | None = None,
    stop: threading.Event | None = None,
) -> Execution:
    """Run `nb` top to bottom, saving to `output_path` after every cell (`stop`: see above)."""
    total = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
    hook = _progress_hook(progress, total)
    extra: dict[str, Any] = {"on_cell_executed": hook} if hook else {}
    if stop is not None:
        extra["stop"] = stop
    output_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        executed = papermill.execute_notebook(
            nb, str(output_path), engine_name=ENGINE, kernel_name=kernel_name, progress_bar=progress_bar,
            start_timeout=start_timeout, kernel_env=dict(env), kernel_cwd=os.fspath(cwd), source_label=source_label,
            **extra,
        )
        return Execution(executed, None)
    except papermill.PapermillExecutionError as exc:
        saved = _saved(output_path, nb)
        if _ran_to_the_end(saved):  # papermill also raises for cells tagged raises-exception
            return Execution(saved, None)
        return Execution(
            _saved(output_path, nb),
            f"In [{exc.exec_count}] raised {exc.ename}: {exc.evalue}",
            _failed_index(output_path),
        )
    except Exception as exc:  # dead kernel, kernel that never started, cell timeout, ...
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return Execution(
            _saved(output_path, nb), f"{type(exc).__name__}: {text}".rstrip(": "), _failed_index(output_path),
            crashed=isinstance(exc, RuntimeError),  # nbclient's DeadKernelError, jupyter_client's start failures
        )


def _saved(path: Path, fallback: NotebookNode) -> NotebookNode:
    """The notebook as papermill saved it, without the error banner cells it adds at the top
    (so cell positions match the notebook that was executed)."""
    try:
        return remove_error_markers(nbformat.read(path, as_version=4))
    except (OSError, ValueError):
        return fallback


def _ran_to_the_end(nb: NotebookNode) -> bool:
    """Every code cell ran, and every error sits in a cell tagged ``raises-exception`` (nbclient
    runs on past those; papermill's final check raises for them all the same)."""
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.get("execution_count") is None:
            return False
        raised = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if raised and "raises-exception" not in cell.get("metadata", {}).get("tags", []):
            return False
    return True


def _failed_index(path: Path) -> int | None:
    """The first cell papermill marked failed or left running (the kernel died in it)."""
    nb = _saved(path, nbformat.v4.new_notebook())
    for index, cell in enumerate(nb.cells):
        status = cell.get("metadata", {}).get("papermill", {}).get("status")
        if cell.get("metadata", {}).get("papermill", {}).get("exception") or status == "running":
            return index
    return None
