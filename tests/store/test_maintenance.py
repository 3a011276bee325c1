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


def test_fsck_tells_torn_and_recovered_writes_from_damage(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from nbtrack.cli import main
    from nbtrack.core import framing, records

    url = str(tmp_path / "store")
    run_id, _sha = _run_with_artifact(url)
    log = Path(url) / log_key(run_id)
    intact = log.read_bytes()
    late = framing.encode_many([records.note(f"late {i}") for i in range(5)])

    log.write_bytes(intact + late[:-7])  # a writer died mid-write: a torn tail
    report = fsck(open_store(url))
    assert report.ok and report.damaged_logs == {}
    assert [line.split(":")[-1] for line in report.recovered_logs[run_id]] == [" incomplete last record"]

    log.write_bytes(intact + late[:-7] + late)  # cut short, then sent again whole (older writers)
    report = fsck(open_store(url))
    assert report.ok and "sent again" in report.recovered_logs[run_id][0]
    assert nbtrack.get_run(run_id, url).notes == [f"late {i}" for i in range(5)]  # each once
    capsys.readouterr()
    assert main(["--store", url, "fsck"]) == 0
    assert f"recovered log {run_id}" in capsys.readouterr().out

    damaged = bytearray(intact + late)
    damaged[len(intact) + 20] ^= 0xFF  # a flipped byte inside a record: lost, not recovered
    log.write_bytes(bytes(damaged))
    report = fsck(open_store(url))
    assert not report.ok and run_id in report.damaged_logs and report.recovered_logs == {}
    assert main(["--store", url, "fsck"]) == 1
    assert f"damaged log {run_id}" in capsys.readouterr().out
