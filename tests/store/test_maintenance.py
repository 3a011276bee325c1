"""fsck finds damage; gc removes only what nothing refers to."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbtrack
from nbtrack.store.maintenance import fsck, gc
from nbtrack.store.store import blob_key, log_key, open_store


def _run_with_artifact(store_url: str) -> tuple[str, str]:
    run = nbtrack.start("kept", store=store_url)
    sha = nbtrack.log_artifact(b"model weights", name="model.bin")
    nbtrack.log(loss=1.0)
    nbtrack.finish()
    return run.id, sha


def test_fsck_reports_corrupt_and_missing_blobs_and_damaged_logs(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    run_id, sha = _run_with_artifact(url)
    store = open_store(url)
    assert fsck(store).ok
    blob = Path(url) / blob_key(sha)
    blob.write_bytes(b"model weighTs")
    report = fsck(store)
    assert report.corrupt_blobs == [sha] and not report.ok
    blob.unlink()
    assert fsck(store).missing_blobs == {run_id: [sha]}
    with open(Path(url) / log_key(run_id), "r+b") as fh:
        fh.seek(30)
        fh.write(b"\xff\xff")
    assert run_id in fsck(store).damaged_logs


def test_gc_removes_unreferenced_old_blobs_and_temp_files(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    _run_id, sha = _run_with_artifact(url)
    store = open_store(url)
    orphan = store.put_blob(b"nobody refers to me")
    young = store.put_blob(b"written a moment ago")
    old = time.time() - 7200
    os.utime(Path(url) / blob_key(orphan), (old, old))
    os.utime(Path(url) / blob_key(sha), (old, old))
    leftover = Path(url) / "blobs" / ".tmp-deadbeef"
    leftover.write_bytes(b"half")
    os.utime(leftover, (old, old))

    dry = gc(store, dry_run=True)
    assert dry.removed_blobs == [orphan] and store.has_blob(orphan)
    report = gc(store)
    assert report.removed_blobs == [orphan] and report.removed_temp == ["blobs/.tmp-deadbeef"]
    assert not store.has_blob(orphan) and store.has_blob(sha) and store.has_blob(young)
    assert not leftover.exists()
