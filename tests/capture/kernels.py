"""Real kernels for capture tests: papermill/nbclient on fixture notebooks, or a kernel driven
message by message (to send the cell ids a JupyterLab frontend sends, which nbclient does not)."""

from __future__ import annotations

import os
import queue
import signal
from pathlib import Path
from typing import Any

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ROOT = Path(__file__).resolve().parents[2]


def kernel_environment(monkeypatch: Any, store: Path) -> None:
    """Kernels inherit os.environ: this checkout importable, the test's store, fast flushes."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("NBTRACK_STORE", str(store))
    monkeypatch.setenv("NBTRACK_FLUSH_INTERVAL", "0.2")
    monkeypatch.setenv("NBTRACK_HEARTBEAT", "1")
    for name in ("JPY_SESSION_NAME", "NBTRACK_NOTEBOOK"):
        monkeypatch.delenv(name, raising=False)


def execute_fixture(name: str, workdir: Path, allow_errors: bool = False) -> nbformat.NotebookNode:
    """Execute tests/notebooks/<name> with nbclient in a fresh python3 kernel; returns it executed."""
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=180, allow_errors=allow_errors,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


class Kernel:
    """A python3 kernel driven directly (jupyter_client), sending cell ids like JupyterLab."""

    def __init__(self, cwd: Path) -> None:
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd))

    def execute(self, code: str, cell_id: str | None = None, timeout: float = 60,
                tags: list[str] | None = None, silent: bool = False) -> list[dict[str, Any]]:
        """Run `code` (with the request metadata JupyterLab sends: cell id, tags; `silent` as
        frontends run their own set-up code); returns the iopub messages' (type, content)."""
        client = self.client
        content = {"code": code, "silent": silent, "store_history": not silent, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": False}
        metadata: dict[str, Any] = {"cellId": cell_id} if cell_id else {}
        if tags:
            metadata["tags"] = tags
        msg = client.session.msg("execute_request", content, metadata=metadata)
        client.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        found = []
        while True:
            try:
                reply = client.get_iopub_msg(timeout=timeout)
            except queue.Empty as exc:
                raise TimeoutError(f"no reply to {code!r}") from exc
            if reply["parent_header"].get("msg_id") != msg_id:
                continue
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                break
            found.append({"type": reply["msg_type"], **reply["content"]})
        client.get_shell_msg(timeout=timeout)
        return found

    def run(self, code: str, timeout: float = 60) -> str:
        """Run `code` and wait for its reply on the shell channel only; returns the reply's status.
        For cells whose outputs Jupyter cannot carry: ipykernel's failure to publish one can stop
        its IOPub stream (no status message ever again), while the shell channel still answers."""
        msg_id = self.client.execute(code, allow_stdin=False, stop_on_error=False)
        while True:
            try:
                reply = self.client.get_shell_msg(timeout=timeout)
            except queue.Empty as exc:
                raise TimeoutError(f"no reply to {code!r}") from exc
            if reply["parent_header"].get("msg_id") == msg_id:
                return str(reply["content"]["status"])

    def text(self, code: str, cell_id: str | None = None) -> str:
        return "".join(m.get("text", "") for m in self.execute(code, cell_id) if m["type"] == "stream")

    def kill(self) -> None:
        """SIGKILL, as the OOM killer would."""
        pid = self.manager.provisioner.process.pid  # type: ignore[union-attr]
        os.kill(pid, signal.SIGKILL)
        self.manager.provisioner.process.wait()  # type: ignore[union-attr]

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
