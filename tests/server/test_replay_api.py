"""Replays over the REST API, end to end: a fixture notebook is executed in a real kernel
(papermill) as the original run; the server replays it in a worker thread (papermill, a real
kernel again) while the client polls progress, and reports the result."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import papermill
import pytest

from nbtrack.store.store import Store
from tests.server.conftest import json_body
from tests.servers import ROOT

FIXTURE = ROOT / "tests" / "notebooks" / "server_replay.ipynb"


@pytest.fixture
def kernels_import_this_checkout(jp_environ: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for name in ("NBTRACK_REPLAY_OF", "NBTRACK_NOTEBOOK", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def original(kernels_import_this_checkout: None, jp_root_dir: Path, store_dir: Path, store: Store,
             monkeypatch: pytest.MonkeyPatch) -> str:
    """The fixture notebook run once in a real kernel, tracked into the server's store."""
    folder = jp_root_dir / "exp"
    folder.mkdir()
    notebook = folder / "train.ipynb"
    shutil.copy(FIXTURE, notebook)
    with monkeypatch.context() as patch:
        patch.setenv("NBTRACK_STORE", str(store_dir))
        patch.setenv("NBTRACK_NOTEBOOK", str(notebook))
        papermill.execute_notebook(str(notebook), str(notebook), kernel_name="python3", cwd=str(folder),
                                   progress_bar=False)
    (run_id,) = store.run_ids()
    return run_id


async def start(jp_fetch: Any, body: dict[str, Any]) -> Any:
    return await jp_fetch("nbtrack", "api", "replay", method="POST", body=json.dumps(body), raise_error=False)


async def wait_for(jp_fetch: Any, job: str, timeout: float = 240.0) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """Poll the job until it ends; returns its final state and the progress values seen."""
    seen: list[tuple[int, int]] = []
    for _ in range(int(timeout / 0.25)):
        state = json_body(await jp_fetch("nbtrack", "api", "replay", job))
        progress = (state["progress"]["done"], state["progress"]["total"])
        if not seen or seen[-1] != progress:
            seen.append(progress)
        if state["state"] != "running":
            return state, seen
        await asyncio.sleep(0.25)
    raise AssertionError(f"replay job {job} still running after {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("nbtrack_config", [{"max_replays": 1}])
async def test_replay_through_the_api(jp_fetch, original, store, jp_root_dir):
    answer = await start(jp_fetch, {"run": original[:10], "parameters": {"scale": 2.0}, "order": "notebook"})
    assert answer.code == 202
    job = json_body(answer)["job"]
    assert answer.headers["Location"].endswith(f"/nbtrack/api/replay/{job}")

    busy = await start(jp_fetch, {"run": original})  # max_replays=1 and one is running
    assert busy.code == 409

    state, seen = await wait_for(jp_fetch, job)
    assert state["state"] == "done", state
    assert state["error"] is None and state["run"] == original
    done, total = seen[-1]
    assert total >= 3 and done == total  # every code cell reported
    assert len(seen) >= 2  # progress moved while the client polled
    assert state["report"]["verdict"] == "differs"  # the loss was scaled on purpose
    assert re.fullmatch(r"exp/nbtrack-replays/train\.replay-\w+-\w+\.ipynb", state["output"]), state["output"]
    assert (jp_root_dir / state["output"]).is_file()  # beside the notebook, where the user sees it
    assert {m["key"] for m in state["report"]["metrics"]} >= {"loss"}

    replay = json_body(await jp_fetch("nbtrack", "api", "runs", state["replay_run"]))
    assert replay["replay_of"] == original
    assert replay["params"]["scale"] == 2.0
    assert replay["metrics"]["loss"]["last"] == pytest.approx(2.0 / 3)
    listed = json_body(await jp_fetch("nbtrack", "api", "runs", params={"filter": f"replay_of={original}"}))
    assert [r["id"] for r in listed["runs"]] == [state["replay_run"]]

    again = await start(jp_fetch, {"run": original, "parameters": {}, "order": "executed", "folder": "mine/replays"})
    assert again.code == 202  # the first one finished: room again
    state, _ = await wait_for(jp_fetch, json_body(again)["job"])
    assert state["state"] == "done" and state["report"]["verdict"] == "reproduced", state
    assert state["output"].startswith("mine/replays/") and (jp_root_dir / state["output"]).is_file()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"run": 12}, 400),
        ({"run": "zzzzzzzzzz"}, 404),
        ({"run": "{run}", "order": "random"}, 400),
        ({"run": "{run}", "parameters": ["scale", 2]}, 400),
        ({"run": "{no_snapshot}"}, 400),
        ({"run": "{run}", "folder": "../elsewhere"}, 400),
        ({"run": "{run}", "folder": "/tmp"}, 400),
        ({"run": "{run}", "folder": 3}, 400),
    ],
)
async def test_replay_rejects_bad_requests(jp_fetch, make_run, body, status):
    ids = {"run": make_run("a run"), "no_snapshot": make_run("no snapshot")}
    body = {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}
    answer = await start(jp_fetch, body)
    assert answer.code == status, answer.body
    assert json_body(answer)["message"]


async def test_a_replay_that_cannot_run_ends_failed_with_the_reason(jp_fetch, jp_root_dir, store):
    import nbtrack
    from tests.server.conftest import record_snapshot, write_notebook

    notebook = write_notebook(jp_root_dir / "nb.ipynb", ["x = 1"])
    run = nbtrack.start("broken", store=store, notebook=str(notebook))
    record_snapshot(run, store, notebook)
    nbtrack.finish()
    manifest = store.read_run(run.id).state().snapshots[0]["manifest"]
    (Path(store.backend.root) / "blobs" / manifest[:2] / manifest).unlink()  # a damaged store

    answer = await start(jp_fetch, {"run": run.id})
    assert answer.code == 202
    state, _ = await wait_for(jp_fetch, json_body(answer)["job"], timeout=60)
    assert state["state"] == "failed" and state["replay_run"] is None and state["report"] is None
    assert manifest in state["error"]
