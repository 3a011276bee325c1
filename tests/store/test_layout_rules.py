"""A folder store someone else can write into: files that are not part of the layout are not
runs (fsck lists them), symbolic links inside it are never followed, and an annotation cannot
rewrite a run's own history."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import nbtrack
from nbtrack.core import framing, records
from nbtrack.store.keys import blob_key, log_key, note_key
from nbtrack.store.local import LinkRefused
from nbtrack.store.maintenance import fsck, gc
from nbtrack.store.store import open_store


def finished_run(store_dir: Path) -> str:
    with nbtrack.start("real", store=store_dir) as run:
        nbtrack.log(loss=0.5)
        nbtrack.log_artifact(b"weights", name="model.bin")
    return run.id


def test_files_planted_under_runs_are_not_runs_and_fsck_lists_them(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    run_id = finished_run(store_dir)
    (store_dir / "runs" / "notes.txt").write_text("hello")
    (store_dir / "runs" / "Bad Name").mkdir()
    (store_dir / "runs" / "Bad Name" / "log").write_bytes(b"junk")
    (store_dir / "runs" / run_id / "extra").write_text("x")
    (store_dir / "notes" / "zz" / "deeper").mkdir(parents=True)
    (store_dir / "notes" / "zz" / "deeper" / "n").write_bytes(b"junk")
    (store_dir / "blobs" / "zz").mkdir(parents=True)
    (store_dir / "blobs" / "zz" / "not-a-hash").write_bytes(b"keep me")
    store = open_store(store_dir)
    assert store.run_ids() == [run_id]
    assert list(nbtrack.runs(store=store)["id"]) == [run_id]
    assert store.index.rebuild() == 1
    report = fsck(store)
    assert report.ok and report.runs == 1, report.lines()
    assert report.strays == sorted(["blobs/zz/not-a-hash", "notes/zz/deeper/n", "runs/Bad Name/log",
                                    "runs/notes.txt", f"runs/{run_id}/extra"])
    gc(store, grace=0)
    assert (store_dir / "blobs" / "zz" / "not-a-hash").read_bytes() == b"keep me"  # not nbtrack's to remove


def test_symbolic_links_inside_a_folder_store_are_never_followed(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    run_id = finished_run(store_dir)
    store = open_store(store_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("outside the store")
    data = b"a blob"
    sha = hashlib.sha256(data).hexdigest()
    (store_dir / "blobs" / sha[:2]).mkdir(parents=True, exist_ok=True)
    (store_dir / blob_key(sha)).symlink_to(outside / "secret")
    with pytest.raises(LinkRefused, match="symbolic link inside the store"):
        store.get_blob(sha)
    with pytest.raises(LinkRefused):
        store.backend.write_once(blob_key(sha), data)
    # a run whose log is a link to a file elsewhere, and a run folder that is a link
    (store_dir / "runs" / "01linkedlog").mkdir()
    (store_dir / "runs" / "01linkedlog" / "log").symlink_to(store_dir / log_key(run_id))
    (store_dir / "runs" / "01linkeddir").symlink_to(store_dir / "runs" / run_id)
    assert store.run_ids() == [run_id]
    with pytest.raises(LinkRefused):
        store.backend.read_log("runs/01linkeddir/log")
    with pytest.raises(LinkRefused):
        store.append("01linkeddir", b"appended through a link")
    assert (outside / "secret").read_text() == "outside the store"


def test_an_annotation_cannot_rewrite_a_runs_history(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    run_id = finished_run(store_dir)
    store = open_store(store_dir)
    forged = [records.status("failed", error="forged"), records.cell(0, None, 1, "evil()", 0, 1, None, None),
              records.params({"lr": 99})]
    store.backend.write_once(note_key(run_id, "01forged"), framing.encode_many(forged))
    state = store.read_run(run_id).state()
    assert state.status == "finished" and state.error is None and state.cells == 0
    assert state.params == {"lr": 99}  # params may be added by others (a replay's), and are
