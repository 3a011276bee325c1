"""A kernel started by a real Jupyter server (over HTTP and its kernel websocket): the run knows
its notebook path, kernel id and kernel name, and snapshots the file the server serves. The
server's nbtrack extension gives the kernel a hash seed of its own, which the run records, so a
replay prints a set of strings in the order the original did."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest

from nbtrack.api import get_run
from nbtrack.replay.runner import replay
from nbtrack.store.store import open_store
from tests.capture.kernels import ROOT
from tests.servers import free_port, wait_for_http

pytestmark = pytest.mark.slow
SET_OF_STRINGS = "print(list({f'key-{i}' for i in range(20)}))"  # its order follows the hash seed


async def execute(ws_url: str, codes: list[str]) -> list[str]:
    """Run each code in the kernel over the server's websocket; returns each one's stream text."""
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(ws_url)
    session = uuid.uuid4().hex
    texts = []
    for code in codes:
        msg_id = uuid.uuid4().hex
        connection.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "test",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        text = ""
        while True:
            message = json.loads(await asyncio.wait_for(connection.read_message(), 60))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                text += message["content"]["text"]
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        texts.append(text)
    connection.close()
    return texts


def test_a_server_kernel_knows_its_notebook(tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    root = tmp_path / "root"
    (root / "project").mkdir(parents=True)
    notebook = root / "project" / "analysis.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Analysis"), nbformat.v4.new_code_cell("x = 41 + 1"),
                nbformat.v4.new_code_cell("print(x)")]
    nbformat.write(nb, notebook)
    port, token = free_port(), uuid.uuid4().hex
    env = os.environ | {
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}"], env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_for_http(f"{base}api/status?token={token}", server)
        body = json.dumps({"path": "project/analysis.ipynb", "name": "analysis.ipynb", "type": "notebook",
                           "kernel": {"name": "python3"}}).encode()
        request = urllib.request.Request(f"{base}api/sessions?token={token}", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            kernel_id = json.load(response)["kernel"]["id"]
        ws_url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={token}"
        texts = asyncio.run(execute(ws_url, [
            "x = 41 + 1", "%load_ext nbtrack", '%nbtrack start "server run"', "print(x)", SET_OF_STRINGS,
            "import os; print(os.environ.get('PYTHONHASHSEED'))", "%nbtrack stop"]))
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert texts[3] == "42\n" and "finished" in texts[6]
    opened = open_store(str(store_path))
    run = get_run(opened.run_ids()[-1], opened)
    header = run.records[0]
    assert header["notebook"] == str(notebook) and header["kernel_id"] == kernel_id
    assert header["kernel_name"] == "python3"
    assert run.snapshots[-1]["source"] == "disk" and run.snapshots[-1]["path"] == str(notebook)
    snapshot = run.notebook()
    # the file's cells, with the cells that ran but were never saved in it where they ran
    assert [(c.cell_type, c.source) for c in snapshot.cells] == [
        ("markdown", "# Analysis"), ("code", "x = 41 + 1"), ("code", "%load_ext nbtrack"),
        ("code", '%nbtrack start "server run"'), ("code", "print(x)"), ("code", SET_OF_STRINGS),
        ("code", "import os; print(os.environ.get('PYTHONHASHSEED'))"), ("code", "%nbtrack stop")]
    # the file was never saved with outputs: the kernel's own run of the cell is merged in
    assert snapshot.cells[4].outputs[0]["text"] == "42\n" and snapshot.cells[4].execution_count == 4
    assert [c.execution_count for c in snapshot.cells[1:]] == [1, 2, 3, 4, 5, 6, 7]
    environment: dict[str, Any] = run.environment() or {}
    assert environment["kernel"]["name"] == "python3"

    # the kernel ran with a seed drawn for it (Python's own random one could not be recorded)
    seed = texts[5].strip()
    assert seed.isdigit() and header["hash_seed"] == seed
    replayed = replay(run.id, store=str(store_path), cwd=root / "project", yes=True)
    assert replayed.report.hash_seed == seed
    assert replayed.report.verdict == "reproduced", replayed.report.cells
