"""Pack watermarks (``nbtrack.store.watermark``) on the S3 server on loopback: a fresh machine
lists only the logs after the newest pack's watermark, yet finds every run: the packed ones, one
that was still running when the pack was written (and finished since), new ones; a reader that
found a pack damaged lists everything; a run written later with an old id (an import) and a log
deleted by hand are found at the next full listing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from nbtrack.api.rows import page
from nbtrack.core import framing, records
from nbtrack.store import watermark
from nbtrack.store.compaction import compact
from nbtrack.store.keys import pack_key
from nbtrack.store.packs import entry_seqs, read_entry
from nbtrack.store.store import Store, open_store
from tests.store.test_packs import T0, fresh, write_runs


@pytest.fixture(autouse=True)
def no_automatic_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_PACK_MIN_RUNS", "0")


def still_running(url: str, second: float) -> str:
    run_id = f"01h{int(second):013d}"
    header = records.run_header(run_id, 10.0, {"name": "long one", "user": "ann", "host": "h", "tags": []},
                                ts=T0 + second)
    open_store(url).append(run_id, framing.encode(header))
    return run_id


def finish(url: str, run_id: str) -> None:
    open_store(url).append(run_id, framing.encode(records.status("finished", ts=T0 + 100)))


def spied(store: Store) -> dict[str, list[Any]]:
    """What `store` lists in full, lists from a watermark on, and reads of logs."""
    seen: dict[str, list[Any]] = {"full": [], "after": [], "read": []}
    backend: Any = store.backend
    real_full, real_after, real_read = backend.log_sizes, backend.log_sizes_after, backend.read_log

    def full(prefix: str) -> Any:
        seen["full"].append(prefix)
        return real_full(prefix)

    def after(prefix: str, start: str) -> Any:
        seen["after"].append(start)
        return real_after(prefix, start)

    def read(key: str, offset: int = 0) -> Any:
        seen["read"].append(key.split("/")[1])
        return real_read(key, offset)

    backend.log_sizes, backend.log_sizes_after, backend.read_log = full, after, read
    return seen


def packed(url: str, tmp_path: Path) -> tuple[list[str], str]:
    """Ten finished runs and one running, packed by a writer: (the finished ids, the running id)."""
    ids = write_runs(url, 10)
    live = still_running(url, 4.5)  # its id sorts among the packed ones
    writer = fresh(url, tmp_path / "writer")
    writer.index.refresh()
    assert compact(writer.index, writer.backend, min_runs=1).runs == 10
    (entry,) = [read_entry(writer.backend, s) for s in entry_seqs(writer.backend)]
    assert entry is not None and entry.through == max(ids) and entry.open == (live,)
    return ids, live


def test_a_fresh_machine_lists_only_after_the_watermark_and_finds_every_run(
    s3_server: Any, tmp_path: Path
) -> None:
    url = s3_server.url()
    ids, live = packed(url, tmp_path)
    finish(url, live)
    new = write_runs(url, 1, first=10)[0]  # written after the pack: its id sorts after the watermark
    later = write_runs_now(url)

    reader = fresh(url, tmp_path / "reader")
    seen = spied(reader)
    rows = {r.id: r for r in page(reader, limit=None).rows}
    assert set(rows) == {*ids, live, new, later}
    assert rows[live].status == "finished"
    assert seen["full"] == [] and seen["after"] == [max(ids)]
    assert sorted(set(seen["read"])) == sorted({live, new, later})  # packed runs come from the pack


def write_runs_now(url: str) -> str:
    """A finished run started now (its id sorts after any watermark)."""
    from nbtrack.api.whole import WholeRun
    from nbtrack.core.ids import new_run_id

    now = time.time()
    run = WholeRun(new_run_id(now), now, {"name": "new"})
    run.write(open_store(url), ended=now + 1)
    return run.id


def test_a_reader_that_finds_a_pack_damaged_lists_every_log(s3_server: Any, tmp_path: Path) -> None:
    url = s3_server.url()
    ids, live = packed(url, tmp_path)
    reader = fresh(url, tmp_path / "reader")
    (entry,) = [read_entry(reader.backend, s) for s in entry_seqs(reader.backend)]
    assert entry is not None
    key = pack_key("summaries", entry.sha)
    data = bytearray(reader.backend.read(key))
    data[len(data) // 2] ^= 0xFF
    reader.backend.delete(key)
    reader.backend.write_once(key, bytes(data))
    seen = spied(reader)
    with pytest.warns(RuntimeWarning, match="damaged"):
        found = {r.id for r in page(reader, limit=None).rows}
    assert found == {*ids, live}
    assert seen["after"] == [] and seen["full"]
    page(reader, limit=None)
    assert seen["after"] == []  # never again


def test_runs_a_watermark_cannot_promise_are_found_at_the_next_full_listing(
    s3_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = s3_server.url()
    ids, live = packed(url, tmp_path)
    reader = fresh(url, tmp_path / "reader")
    assert {r.id for r in page(reader, limit=None).rows} == {*ids, live}
    imported = write_runs(url, 1, first=2)[0]  # written after the pack, with an id below its watermark
    assert imported < max(ids)
    backend: Any = open_store(url).backend
    backend.fs.rm(backend._path(f"runs/{ids[0]}"), recursive=True)  # a log deleted by hand

    later = time.time() + watermark.FULL_LISTING_SECONDS + 1
    monkeypatch.setattr(watermark.time, "time", lambda: later)
    found = {r.id for r in page(reader, limit=None).rows}
    assert imported in found and ids[0] not in found
