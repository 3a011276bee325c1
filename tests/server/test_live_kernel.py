"""The whole loop with a real kernel started by the server, as JupyterLab does it: a notebook
session, `%nbtrack start` in its kernel, the run found by kernel id and by notebook path, a save
recorded as a checkpoint snapshot, and `%nbtrack stop`."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import json_body, write_notebook
from tests.servers import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def kernel_env(jp_environ: Any, store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels the server starts inherit this process's environment."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("NBTRACK_STORE", str(store_dir))
    for name in ("NBTRACK_REPLAY_OF", "NBTRACK_NOTEBOOK"):
        monkeypatch.delenv(name, raising=False)


async def execute(ws: Any, code: str, timeout: float = 120.0) -> str:
    """Run `code` in the kernel over its websocket; returns its stdout (fails on an error)."""
    msg_id = uuid.uuid4().hex
    await ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    out = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.read_message(), timeout))
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            raise AssertionError(f"{content['ename']}: {content['evalue']}")
        elif kind == "execute_reply":
            assert content["status"] == "ok", content
            return "".join(out)


async def test_run_in_a_server_kernel(jp_fetch, jp_ws_fetch, jp_root_dir, kernel_env):
    write_notebook(jp_root_dir / "exp" / "live.ipynb", ["x = 1"])
    session = json_body(await jp_fetch("api", "sessions", method="POST", body=json.dumps(
        {"path": "exp/live.ipynb", "type": "notebook", "name": "live.ipynb", "kernel": {"name": "python3"}})))
    kernel_id = session["kernel"]["id"]
    ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
    try:
        await execute(ws, '%load_ext nbtrack\n%nbtrack start "live run" --tag lab')
        await execute(
            ws, "import nbtrack\nnbtrack.log(step=0, loss=0.5)\nnbtrack.log(step=1, loss=0.25)\nnbtrack.flush()"
        )

        active = json_body(await jp_fetch("nbtrack", "api", "active", params={"kernel": kernel_id}))
        assert active["run"]["name"] == "live run" and active["latest"] == {"loss": 0.25}
        run_id = active["run"]["id"]
        mine = json_body(await jp_fetch("nbtrack", "api", "runs", params={"notebook": "exp/live.ipynb"}))
        assert [r["id"] for r in mine["runs"]] == [run_id]  # capture's absolute path matches the server path

        model = json_body(await jp_fetch("api", "contents", "exp", "live.ipynb"))
        model["content"]["cells"][0]["source"] = "x = 2  # edited and saved"
        await jp_fetch("api", "contents", "exp", "live.ipynb", method="PUT",
                       body=json.dumps({"type": "notebook", "format": "json", "content": model["content"]}))
        for _ in range(200):
            detail = json_body(await jp_fetch("nbtrack", "api", "runs", run_id))
            if any(s["reason"] == "save" for s in detail["snapshots"]):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"no save snapshot: {detail['snapshots']}")

        await execute(ws, "%nbtrack stop")
    finally:
        ws.close()
        await jp_fetch("api", "sessions", session["id"], method="DELETE")

    assert json_body(await jp_fetch("nbtrack", "api", "active", params={"kernel": kernel_id}))["run"] is None
    detail = json_body(await jp_fetch("nbtrack", "api", "runs", run_id))
    assert detail["status"] == "finished"
    reasons = [s["reason"] for s in detail["snapshots"]]
    assert "save" in reasons
    times = [s["time"] for s in detail["snapshots"]]
    assert times == sorted(times) and [s["index"] for s in detail["snapshots"]] == list(range(len(times)))
    latest = json_body(await jp_fetch("nbtrack", "api", "runs", run_id, "notebook"))
    by_index = json_body(await jp_fetch("nbtrack", "api", "runs", run_id, "notebook",
                                        params={"snapshot": str(len(times) - 1)}))
    assert latest == by_index  # "latest" is the last in time: the snapshot at stop, not the save
    assert reasons[-1] != "save"
    cells = json_body(await jp_fetch("nbtrack", "api", "runs", run_id, "cells"))["cells"]
    sources = [c["source"] for c in cells]
    assert any(s.startswith("import nbtrack\nnbtrack.log(step=0") for s in sources), sources
    assert [c["seq"] for c in cells] == sorted(c["seq"] for c in cells)  # in the order they ran
