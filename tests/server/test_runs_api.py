"""The run routes over a real Jupyter server: listing (paging, filter, sort, notebook), one
run, notes and tags, metrics, artifacts, snapshots and the active run of a kernel."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

import nbtrack
from nbtrack.store.store import Store
from tests.server.conftest import json_body, record_snapshot, write_notebook, write_run


@pytest.fixture
def trained(store: Store, jp_root_dir: Path) -> str:
    """A finished run of work/train.ipynb with params, metrics (one NaN), an artifact, a note
    and a snapshot, recorded through the Python API."""
    notebook = write_notebook(jp_root_dir / "work" / "train.ipynb", ["lr = 0.01", "print(lr)"])
    run = nbtrack.start("baseline <b>", tags=["faces"], note="first try", params={"lr": 0.01},
                        store=store, notebook=str(notebook), kernel_id="kernel-1")
    for step in range(5):
        nbtrack.log(step=step, loss=1.0 / (step + 1), acc=step / 10)
    nbtrack.log(step=5, loss=float("nan"))
    nbtrack.log_artifact(b"\x00weights\xff", name="model.bin")
    record_snapshot(run, store, notebook)
    nbtrack.finish()
    return run.id


async def get(jp_fetch: Any, *parts: str, **params: Any) -> Any:
    return json_body(await jp_fetch("nbtrack", "api", *parts, params=params))


async def status_of(jp_fetch: Any, *parts: str, **params: Any) -> int:
    return (await jp_fetch("nbtrack", "api", *parts, params=params, raise_error=False)).code


async def test_run_detail_holds_what_was_recorded(jp_fetch, trained):
    detail = await get(jp_fetch, "runs", trained)
    assert detail["id"] == trained and detail["name"] == "baseline <b>" and detail["status"] == "finished"
    assert detail["params"] == {"lr": 0.01} and detail["tags"] == ["faces"]
    assert [n["text"] for n in detail["notes"]] == ["first try"]
    assert detail["notes"][0]["time"].endswith("+00:00")
    assert detail["metrics"]["loss"]["min"] == pytest.approx(0.2)
    assert detail["metrics"]["loss"]["last"] is None  # NaN travels as null (valid JSON)
    assert detail["artifacts"] == [
        {"name": "model.bin", "size": 9, "sha256": detail["artifacts"][0]["sha256"], "kind": "bytes"}
    ]
    assert [(s["index"], s["reason"]) for s in detail["snapshots"]] == [(0, "finish")]
    assert detail["notebook"].endswith(os.path.join("work", "train.ipynb"))
    assert detail["replay_of"] is None
    assert "pandas" in detail["environment"]["packages"]  # captured when the run started


async def test_replay_plan_names_the_owner_and_the_folder(jp_fetch, trained, make_run, monkeypatch):
    mine = await get(jp_fetch, "runs", trained, "replay")  # recorded as $NBTRACK_USER=tester
    assert mine["owner"] == mine["you"] == "tester" and mine["warning"] is None
    assert mine["folder"] == "work/nbtrack-replays"  # beside work/train.ipynb
    assert mine["snapshots"] == 1 and mine["params"] == {"lr": 0.01} and mine["start"].endswith("+00:00")
    monkeypatch.setenv("NBTRACK_USER", "someone else")
    theirs = await get(jp_fetch, "runs", trained, "replay")
    assert theirs["you"] == "someone else" and "tester" in theirs["warning"]
    bare = await get(jp_fetch, "runs", make_run("a script run"), "replay")
    assert bare["folder"] == "nbtrack-replays" and bare["snapshots"] == 0 and bare["host"] == "test-host"


async def test_run_by_unique_prefix_and_unknown_or_ambiguous_ids(jp_fetch, trained, make_run):
    assert (await get(jp_fetch, "runs", trained[:12]))["id"] == trained
    assert await status_of(jp_fetch, "runs", "zzzzzzzzzzzzzzzz") == 404
    make_run("same millisecond", started=0.0)
    make_run("same millisecond", started=0.0)
    answer = await jp_fetch("nbtrack", "api", "runs", "0000000000", raise_error=False)
    assert answer.code == 404 and "matches 2 runs" in json_body(answer)["message"]


async def test_patch_adds_notes_and_tags_as_annotations(jp_fetch, trained, store):
    log_before = store.backend.read_log(f"runs/{trained}/log")
    answer = await jp_fetch("nbtrack", "api", "runs", trained, method="PATCH",
                            body=json.dumps({"note": "<script>alert(1)</script>", "tags": ["best", "faces"]}))
    detail = json_body(answer)
    assert [n["text"] for n in detail["notes"]] == ["first try", "<script>alert(1)</script>"]
    assert detail["tags"] == ["faces", "best"]
    assert store.backend.read_log(f"runs/{trained}/log") == log_before  # never the writer's log
    listed = await get(jp_fetch, "runs", filter="tag=best")
    assert [r["id"] for r in listed["runs"]] == [trained]  # the index saw the annotation


@pytest.mark.parametrize(
    "body",
    [{}, {"note": ""}, {"note": 3}, {"tags": "best"}, {"tags": [""]}, {"tags": [1]}, {"note": "x" * 100_001}, []],
)
async def test_patch_rejects_bad_bodies(jp_fetch, trained, body):
    answer = await jp_fetch("nbtrack", "api", "runs", trained, method="PATCH", body=json.dumps(body), raise_error=False)
    assert answer.code == 400 and json_body(answer)["message"]


async def test_patch_rejects_a_body_that_is_not_json(jp_fetch, trained):
    answer = await jp_fetch("nbtrack", "api", "runs", trained, method="PATCH", body="note=hi", raise_error=False)
    assert answer.code == 400


async def test_metrics_series_by_key(jp_fetch, trained):
    series = await get(jp_fetch, "runs", trained, "metrics")
    assert set(series) == {"loss", "acc"}
    assert series["loss"]["step"] == [0, 1, 2, 3, 4, 5]
    assert series["loss"]["value"][:5] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert series["loss"]["value"][5] is None
    assert len(series["loss"]["time"]) == 6 and all(t > 0 for t in series["loss"]["time"])
    only = await get(jp_fetch, "runs", trained, "metrics", keys="acc,unknown")
    assert list(only) == ["acc"] and only["acc"]["value"] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])


async def test_artifact_download(jp_fetch, trained):
    answer = await jp_fetch("nbtrack", "api", "runs", trained, "artifacts", "model.bin")
    assert answer.body == b"\x00weights\xff"
    assert answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="model.bin"')
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert await status_of(jp_fetch, "runs", trained, "artifacts", "other.bin") == 404


async def test_artifact_with_a_folder_in_its_name(jp_fetch, store):
    run = nbtrack.start("nested", store=store)
    nbtrack.log_artifact(b"abc", name="models/best ü.pt")
    nbtrack.finish()
    answer = await jp_fetch("nbtrack", "api", "runs", run.id, "artifacts", "models", "best ü.pt")
    assert answer.body == b"abc"
    assert "filename*=UTF-8''best%20%C3%BC.pt" in answer.headers["Content-Disposition"]


async def test_snapshot_as_a_notebook(jp_fetch, trained, store):
    nb = await get(jp_fetch, "runs", trained, "notebook")
    nbformat.validate(nbformat.from_dict(nb))
    assert [c["source"] for c in nb["cells"]] == ["lr = 0.01", "print(lr)"]
    assert (await get(jp_fetch, "runs", trained, "notebook", snapshot=0)) == nb
    assert await status_of(jp_fetch, "runs", trained, "notebook", snapshot=1) == 404
    assert await status_of(jp_fetch, "runs", trained, "notebook", snapshot="last") == 400
    assert await status_of(jp_fetch, "runs", trained, "notebook", snapshot=-1) == 400


async def test_active_run_of_a_kernel(jp_fetch, store, make_run):
    make_run("finished one", kernel_id="kernel-7")  # finished: not active
    make_run("dead one", status=None, kernel_id="kernel-7", pid=2**22 + 12345, boot_id=_boot_id())
    assert await get(jp_fetch, "active", kernel="kernel-7") == {"run": None, "latest": {}}
    run = nbtrack.start("live", store=store, kernel_id="kernel-7")
    nbtrack.log(step=0, loss=0.5)
    nbtrack.log(step=1, loss=0.25, acc=0.75)
    nbtrack.flush()
    answer = await get(jp_fetch, "active", kernel="kernel-7")
    assert answer["run"]["id"] == run.id and answer["run"]["status"] == "running"
    assert answer["latest"] == {"loss": 0.25, "acc": 0.75}
    assert (await get(jp_fetch, "active", kernel="kernel-8"))["run"] is None
    nbtrack.finish()
    assert (await get(jp_fetch, "active", kernel="kernel-7"))["run"] is None
    assert await status_of(jp_fetch, "active") == 400


def _boot_id() -> str:
    from nbtrack.core.identity import boot_id

    return boot_id()


# ---- listing


async def test_list_filters_sorts_and_scopes_to_a_notebook(jp_fetch, jp_root_dir, make_run, tmp_path):
    root = Path(os.path.realpath(jp_root_dir))
    a = make_run("a", started=1000.0, params={"lr": 0.1}, notebook=str(root / "nb" / "a.ipynb"))
    b = make_run("b", started=2000.0, params={"lr": 0.3}, notebook="nb/a.ipynb")  # server-relative
    c = make_run("c", started=3000.0, params={"lr": 0.2}, notebook=str(root / "nb" / "c.ipynb"))
    d = make_run("d", started=4000.0, status="failed")
    (root / "link").symlink_to(root / "nb")  # the same notebook through a symlinked folder
    e = make_run("e", started=5000.0, notebook=str(root / "link" / "a.ipynb"))

    newest_first = await get(jp_fetch, "runs")
    assert [r["id"] for r in newest_first["runs"]] == [e, d, c, b, a]
    assert newest_first["total"] == 5 and newest_first["offset"] == 0
    assert [r["id"] for r in (await get(jp_fetch, "runs", sort="params.lr"))["runs"]] == [a, c, b, d, e]
    assert [r["id"] for r in (await get(jp_fetch, "runs", sort="lr", desc="1"))["runs"]] == [b, c, a, d, e]
    assert [r["id"] for r in (await get(jp_fetch, "runs", sort="name", desc="0"))["runs"]] == [a, b, c, d, e]
    assert [r["id"] for r in (await get(jp_fetch, "runs", filter="lr>=0.2"))["runs"]] == [c, b]
    assert [r["id"] for r in (await get(jp_fetch, "runs", filter="status=failed"))["runs"]] == [d]
    scoped = await get(jp_fetch, "runs", notebook="nb/a.ipynb")
    assert [r["id"] for r in scoped["runs"]] == [e, b, a] and scoped["total"] == 3
    assert [r["id"] for r in (await get(jp_fetch, "runs", notebook="./nb//a.ipynb", filter="lr<0.2"))["runs"]] == [a]
    assert (await get(jp_fetch, "runs", notebook="nb/none.ipynb"))["runs"] == []


@pytest.mark.parametrize(
    "params",
    [{"filter": "loss<"}, {"filter": "'unclosed"}, {"offset": "-1"}, {"limit": "0"}, {"limit": "1001"},
     {"limit": "ten"}, {"limit": "10%"}, {"desc": "maybe"}, {"sort": "name", "desc": "%s%d"}],
)
async def test_list_rejects_bad_queries(jp_fetch, make_run, params):
    make_run("a")
    assert await status_of(jp_fetch, "runs", **params) == 400


def _fill(store: Store, count: int) -> list[str]:
    return [
        write_run(store, f"run {i:05d}", started=1_700_000_000.0 + i, params={"lr": i % 7, "seed": i},
                  tags=["even" if i % 2 == 0 else "odd"])
        for i in range(count)
    ]


@pytest.mark.slow
async def test_paging_over_ten_thousand_runs(jp_fetch, store):
    ids = _fill(store, 10_000)
    seen: list[str] = []
    offset = 0
    while True:
        page = await get(jp_fetch, "runs", offset=str(offset), limit="1000")
        assert page["total"] == 10_000 and page["offset"] == offset
        if not page["runs"]:
            break
        seen += [r["id"] for r in page["runs"]]
        offset += len(page["runs"])
    assert seen == ids[::-1]  # every run exactly once, newest first

    last = await get(jp_fetch, "runs", offset="9990", limit="50", sort="name", desc="0")
    assert [r["name"] for r in last["runs"]] == [f"run {i:05d}" for i in range(9990, 10_000)]
    filtered = await get(jp_fetch, "runs", filter="tag=odd lr=3", sort="seed", desc="1", limit="3")
    expected = [i for i in range(10_000) if i % 2 == 1 and i % 7 == 3]
    assert filtered["total"] == len(expected)
    assert [r["params"]["seed"] for r in filtered["runs"]] == expected[::-1][:3]
    assert math.isfinite(filtered["runs"][0]["duration"])


def cell_ops(diff: dict[str, Any]) -> list[tuple[str, int, tuple[str, ...]]]:
    """(op, cell index in the base, keys patched) for each entry of nbdime's cell diff."""
    cells = next((e["diff"] for e in diff["diff"] if e["key"] == "cells"), [])
    return [(e["op"], e["key"], tuple(sorted(d["key"] for d in e.get("diff", [])))) for e in cells]


async def test_diff_of_the_snapshot_against_the_notebook_open_now(jp_fetch, jp_root_dir, trained):
    notebook = jp_root_dir / "work" / "train.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[0].source = "lr = 0.02"  # changed
    nb.cells.append(nbformat.v4.new_code_cell("print('done')"))  # added
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="0.01\n")]  # print(lr) now has output
    nb.cells[1].execution_count = 7  # a new session: not a difference
    nb.cells[1].metadata["collapsed"] = True  # view state: not a difference
    nbformat.write(nb, notebook)

    diff = await get(jp_fetch, "runs", trained, "diff", path="work/train.ipynb")
    assert [c["source"] for c in diff["base"]["cells"]] == ["lr = 0.01", "print(lr)"]  # nbdime's base: the run
    assert cell_ops(diff) == [("patch", 0, ("source",)), ("patch", 1, ("outputs",)), ("addrange", 2, ())]
    assert diff["summary"] == {"changed": 1, "added": 1, "removed": 0, "outputs_changed": 1, "unchanged": 0,
                               "metadata_changed": 0}
    assert diff["a"]["run"] == trained and diff["a"]["snapshot"] == 0 and diff["b"] is None

    nb.cells = [nb.cells[1]]  # only print(lr) is left
    nbformat.write(nb, notebook)
    diff = await get(jp_fetch, "runs", trained, "diff", path="work/train.ipynb", snapshot="0")
    assert cell_ops(diff) == [("removerange", 0, ()), ("patch", 1, ("outputs",))]
    assert diff["summary"]["removed"] == 1 and diff["summary"]["unchanged"] == 0


async def test_diff_compares_outputs_that_changed(jp_fetch, jp_root_dir, store):
    notebook = write_notebook(jp_root_dir / "out.ipynb", ["print(1)"])
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nbformat.write(nb, notebook)
    run = nbtrack.start("outputs", store=store, notebook=str(notebook))
    record_snapshot(run, store, notebook)
    nbtrack.finish()
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="2\n")]  # the same cell, another output
    nbformat.write(nb, notebook)
    diff = await get(jp_fetch, "runs", run.id, "diff", path="out.ipynb")
    assert cell_ops(diff) == [("patch", 0, ("outputs",))]
    assert diff["summary"]["outputs_changed"] == 1 and diff["summary"]["changed"] == 0


async def test_diff_of_two_runs(jp_fetch, jp_root_dir, store, trained):
    notebook = write_notebook(jp_root_dir / "other.ipynb", ["lr = 0.01", "print(lr)", "# notes"])
    run = nbtrack.start("second", store=store, notebook=str(notebook))
    record_snapshot(run, store, notebook)
    nbtrack.finish()
    diff = await get(jp_fetch, "runs", trained, "diff", against=run.id[:12])
    assert diff["a"]["run"] == trained and diff["b"]["run"] == run.id and diff["b"]["name"] == "second"
    assert cell_ops(diff) == [("addrange", 2, ())]
    assert diff["summary"] == {"changed": 0, "added": 1, "removed": 0, "outputs_changed": 0, "unchanged": 2,
                               "metadata_changed": 0}
    same = await get(jp_fetch, "runs", trained, "diff", against=trained)
    assert same["diff"] == [] and same["summary"]["unchanged"] == 2
    assert await status_of(jp_fetch, "runs", trained, "diff", against="zzzzzzzz") == 404


async def test_diff_redacts_secrets_in_the_notebook_open_now(jp_fetch, jp_root_dir, store):
    notebook = write_notebook(jp_root_dir / "keys.ipynb", ["api_key = 'sk-abcdefghijklmnopqrstuvwxyz123456'", "x = 1"])
    run = nbtrack.start("keys", store=store, notebook=str(notebook))
    record_snapshot(run, store, notebook)
    nbtrack.finish()
    diff = await get(jp_fetch, "runs", run.id, "diff", path="keys.ipynb")
    assert diff["diff"] == []  # the secret is no change
    assert "sk-abcdef" not in json.dumps(diff)


async def test_diff_needs_a_snapshot_and_a_notebook(jp_fetch, jp_root_dir, make_run, trained):
    write_notebook(jp_root_dir / "nb.ipynb", ["1"])
    (jp_root_dir / "text.txt").write_text("not a notebook")
    assert await status_of(jp_fetch, "runs", make_run("no snapshot"), "diff", path="nb.ipynb") == 404
    assert await status_of(jp_fetch, "runs", trained, "diff") == 400
    assert await status_of(jp_fetch, "runs", trained, "diff", path="text.txt") == 400


async def test_a_store_that_cannot_be_opened_answers_503_with_the_reason(jp_fetch, jp_serverapp, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    jp_serverapp.web_app.settings["nbtrack"].store = str(tmp_path / "a-file" / "store")
    answer = await jp_fetch("nbtrack", "api", "runs", raise_error=False)
    assert answer.code == 503
    assert "cannot open its store" in json_body(answer)["message"]


async def test_metrics_envelope_at_a_chart_width(jp_fetch, store: Store):
    """``?points=W``: the long run's stored envelope at W buckets, from its curves blob."""
    run = nbtrack.start("long", store=store)
    for step in range(5000):
        nbtrack.log(step=step, loss=float(step % 97) + (50.0 if step == 4321 else 0.0))
    nbtrack.finish()
    curves = await get(jp_fetch, "runs", run.id, "metrics", points="100")
    loss = curves["loss"]
    assert loss["count"] == 5000 and loss["skipped"] == 0
    assert 2 < len(loss["value"]) <= 200 and max(loss["value"]) == 4321 % 97 + 50.0 and min(loss["value"]) == 0.0
    assert 4321 in loss["step"] and loss["step"] == sorted(loss["step"])
    assert await status_of(jp_fetch, "runs", run.id, "metrics", points="0") == 400
    assert await status_of(jp_fetch, "runs", run.id, "metrics", points="wide") == 400
