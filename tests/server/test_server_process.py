"""A real `jupyter server` process loads the extension from `jupyter_server_config.d` (the
config file the wheel installs), finds the store from its root_dir, and answers over real HTTP
with `?token=` authentication."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.store.store import open_store
from tests.server.conftest import write_run
from tests.servers import ROOT, free_port, wait_for_http

pytestmark = pytest.mark.slow


def request(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def server(tmp_path: Path, child_env: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """(base URL, token, the id of a run in <root_dir>/.nbtrack) of a running `jupyter server`."""
    root = tmp_path / "root"
    (root / "project" / "deep").mkdir(parents=True)
    run_id = write_run(open_store(root / ".nbtrack"), "found from root_dir", params={"lr": 0.1})
    config = tmp_path / "jupyter-config"
    (config / "jupyter_server_config.d").mkdir(parents=True)
    shutil.copy(ROOT / "jupyter-config" / "server-config" / "nbtrack.json", config / "jupyter_server_config.d")
    token = uuid.uuid4().hex
    port = free_port()
    env = {k: v for k, v in child_env.items() if not k.startswith("JUPYTER")} | {
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("NBTRACK_STORE", None)
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root / "project" / "deep",
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(f"{base}api/status?token={token}", process)
        yield base, token, run_id
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        output = (tmp_path / "server.log").read_text(errors="replace")
        assert "Traceback" not in output, output


def test_extension_loads_from_config_and_token_query_works(server):
    base, token, run_id = server
    status, page = request(f"{base}nbtrack/api/runs?token={token}")
    assert status == 200
    assert [r["id"] for r in page["runs"]] == [run_id]  # the store of root_dir, not of the cwd
    assert request(f"{base}nbtrack/api/runs")[0] == 403
    assert request(f"{base}nbtrack/api/runs?token=wrong")[0] == 403

    status, detail = request(f"{base}nbtrack/api/runs/{run_id}?token={token}", "PATCH", {"tags": ["seen"]})
    assert status == 200 and detail["tags"] == ["seen"]  # token-authenticated: no XSRF needed
    assert request(f"{base}nbtrack/api/runs/{run_id}", "PATCH", {"tags": ["x"]})[0] == 403
    status, _ = request(f"{base}nbtrack/api/runs/{run_id}", "PATCH", {"tags": ["y"]},
                        headers={"Authorization": f"token {token}"})
    assert status == 200
    assert request(f"{base}nbtrack/api/runs/{run_id}?token={token}")[1]["tags"] == ["seen", "y"]
