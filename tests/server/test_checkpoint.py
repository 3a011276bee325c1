"""Checkpoint on save: saving a notebook through the contents API while a run recorded from it
is running adds a snapshot of the saved notebook to that run (as an annotation: the server is
never the run's writer)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

import nbtrack
from nbtrack.api import get_run
from nbtrack.server.checkpoint import SaveCheckpointer
from tests.server.conftest import json_body, record_snapshot, write_notebook


async def save(jp_fetch: Any, path: str, sources: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    body = {"type": "notebook", "format": "json", "content": nb}
    await jp_fetch("api", "contents", *path.split("/"), method="PUT", body=json.dumps(body))


async def snapshots_of(jp_fetch: Any, run_id: str, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The run's snapshots once there are `count` of them (the hook works in the background)."""
    for _ in range(int(timeout / 0.1)):
        found = json_body(await jp_fetch("nbtrack", "api", "runs", run_id))["snapshots"]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} has {len(found)} snapshots, not {count}")


async def test_saving_the_notebook_of_a_running_run_snapshots_it(jp_fetch, jp_serverapp, jp_root_dir, store):
    notebook = write_notebook(jp_root_dir / "exp" / "train.ipynb", ["a = 1"])
    run = nbtrack.start("training", store=store, notebook=str(notebook), kernel_id="k-1")
    other = write_notebook(jp_root_dir / "exp" / "other.ipynb", ["b = 2"])

    log_before = store.backend.read_log(f"runs/{run.id}/log")
    await save(jp_fetch, "exp/train.ipynb", ["a = 1", "print('token=abcdef123456')"])
    snaps = await snapshots_of(jp_fetch, run.id, 1)
    assert [s["reason"] for s in snaps] == ["save"]
    saved = json_body(await jp_fetch("nbtrack", "api", "runs", run.id, "notebook"))
    assert [c["source"] for c in saved["cells"]] == ["a = 1", "print('token=[REDACTED]')"]  # redacted as every snapshot
    assert store.backend.read_log(f"runs/{run.id}/log")[: len(log_before)] == log_before
    annotations = list(store.backend.list(f"notes/{run.id}"))
    assert len(annotations) == 1  # the server wrote an annotation, not into the kernel's log

    await save(jp_fetch, "exp/train.ipynb", ["a = 1", "a += 1"])
    snaps = await snapshots_of(jp_fetch, run.id, 2)
    second = json_body(await jp_fetch("nbtrack", "api", "runs", run.id, "notebook", params={"snapshot": "1"}))
    assert [c["source"] for c in second["cells"]] == ["a = 1", "a += 1"]

    # other notebooks, and the same notebook once the run finished, leave the run alone
    nbformat.write(nbformat.read(other, as_version=4), other)
    await save(jp_fetch, "exp/other.ipynb", ["b = 3"])
    nbtrack.finish()
    await save(jp_fetch, "exp/train.ipynb", ["a = 1", "a += 2"])
    jp_serverapp.web_app.settings["nbtrack"].checkpointer.last.result(timeout=20)
    assert [s["reason"] for s in get_run(run.id, store).state.snapshots] == ["save", "save"]


@pytest.mark.parametrize("nbtrack_config", [{"checkpoint_on_save": False}])
async def test_checkpoint_on_save_can_be_turned_off(jp_fetch, jp_serverapp, jp_root_dir, store):
    notebook = write_notebook(jp_root_dir / "train.ipynb", ["a = 1"])
    run = nbtrack.start("training", store=store, notebook=str(notebook))
    await save(jp_fetch, "train.ipynb", ["a = 2"])
    assert jp_serverapp.web_app.settings["nbtrack"].checkpointer is None
    # a checkpoint can only come from a post-save hook (all of them ran before the save answered):
    # none of them is nbtrack's, so nothing can be pending, and nothing was recorded
    manager = jp_serverapp.contents_manager
    hooks = [manager.post_save_hook, *manager._post_save_hooks]
    assert not [hook for hook in hooks if isinstance(hook, SaveCheckpointer)]
    assert get_run(run.id, store).state.snapshots == []


@pytest.fixture
def broken_store(tmp_path: Path) -> str:
    (tmp_path / "a-file").write_text("not a folder")
    return str(tmp_path / "a-file" / "store")


async def test_a_failing_checkpoint_never_fails_the_save(jp_fetch, jp_serverapp, jp_root_dir, broken_store, caplog):
    jp_serverapp.web_app.settings["nbtrack"].store = broken_store  # every store access now fails
    write_notebook(jp_root_dir / "train.ipynb", ["a = 1"])
    for text in ("a = 2", "a = 3"):
        await save(jp_fetch, "train.ipynb", [text])
        jp_serverapp.web_app.settings["nbtrack"].checkpointer.last.result(timeout=20)
    saved = json_body(await jp_fetch("api", "contents", "train.ipynb"))
    assert saved["content"]["cells"][0]["source"] == "a = 3"
    warnings = [r for r in caplog.records if "could not record a notebook checkpoint" in r.getMessage()]
    assert len(warnings) == 1  # reported once


async def test_snapshots_are_in_time_order_whoever_wrote_them(jp_fetch, jp_serverapp, jp_root_dir, store):
    notebook = write_notebook(jp_root_dir / "train.ipynb", ["a = 1"])
    run = nbtrack.start("training", store=store, notebook=str(notebook))
    await save(jp_fetch, "train.ipynb", ["a = 2"])  # an annotation, written first
    jp_serverapp.web_app.settings["nbtrack"].checkpointer.last.result(timeout=20)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("a = 3")]), notebook)
    record_snapshot(run, store, notebook, reason="finish")  # the kernel's own, in its log, later
    nbtrack.finish()
    detail = json_body(await jp_fetch("nbtrack", "api", "runs", run.id))
    assert [(s["index"], s["reason"]) for s in detail["snapshots"]] == [(0, "save"), (1, "finish")]
    latest = json_body(await jp_fetch("nbtrack", "api", "runs", run.id, "notebook"))
    assert [c["source"] for c in latest["cells"]] == ["a = 3"]
    first = json_body(await jp_fetch("nbtrack", "api", "runs", run.id, "notebook", params={"snapshot": "0"}))
    assert [c["source"] for c in first["cells"]] == ["a = 2"]
