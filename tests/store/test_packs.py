"""Packs (``nbtrack.store.packs``): finished runs' summaries in write-once,
content-addressed Parquet files that any client may write and every reader uses.

Two real processes compact one store at the same moment (on a folder, and on the S3 server on
loopback): the store ends with one set of packs and no run is lost. A pack damaged on purpose is
detected (by readers and by ``fsck``) and its runs are read from their logs. The index answers the
same rows and the same DataFrame before and after compaction, whether it read the logs or the
packs, and a fresh machine reads the packs and then only the loose runs' logs.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import nbtrack
from nbtrack.api.rows import page
from nbtrack.api.whole import WholeRun
from nbtrack.core.ids import new_run_id
from nbtrack.store.compaction import compact
from nbtrack.store.keys import PACK_LIST, pack_of
from nbtrack.store.maintenance import fsck
from nbtrack.store.packs import entry_seqs
from nbtrack.store.registry import open_backend
from nbtrack.store.store import Store, open_store
from tests.servers import S3_ENV

T0 = 1_700_000_000.0


def write_runs(url: str, count: int, first: int = 0) -> list[str]:
    """`count` finished runs written whole (params, tags, notes, metrics with NaN and inf)."""
    store = open_store(url)
    ids = []
    for i in range(first, first + count):
        run = WholeRun(new_run_id(T0 + i), T0 + i, {"name": f"run {i}", "tags": ["packs", f"g{i % 3}"],
                                                    "user": ["ann", "bob"][i % 2]})
        run.params({"lr": [0.1, 0.01, "1e-3", None][i % 4], "seed": i, "layers": [i % 2, 3]})
        run.metric("loss", [0, 1, 2], [T0 + i] * 3, [1.0 / (i + 1), math.nan, 0.5])
        run.metric("acc", [0, 1], [T0 + i] * 2, [0.5, math.inf if i % 5 == 0 else 0.9])
        if i % 4 == 0:
            run.note(f"note {i}")
        run.write(store, ended=T0 + i + 30, status=["finished", "failed", "killed"][i % 3])
        ids.append(run.id)
    return ids


def fresh(url: str, index_dir: Path) -> Store:
    """The store as a machine that never saw it sees it: its own, empty index."""
    index_dir.mkdir(parents=True, exist_ok=True)
    return Store(open_backend(url), index_file=index_dir / "index.sqlite")


def pack_files(store: Store) -> tuple[list[str], list[int]]:
    packs = sorted(info.key for info in store.backend.list("packs") if pack_of(info.key))
    return packs, entry_seqs(store.backend)


def answers(store: Store) -> list[Any]:
    """What tables ask of the index: pages (sorted, filtered) and the whole DataFrame."""
    queries = [{}, {"filter": "lr>0.005", "sort": "lr"}, {"filter": "g1 status!=failed", "sort": "loss", "desc": True},
               {"filter": "tag=g2 acc>=0.9", "sort": "metrics.acc.max"}, {"sort": "name", "offset": 3, "limit": 4}]
    pages = [[(r.id, r.status, r.params, r.metrics, r.tags, r.notes) for r in page(store, now=T0 + 10**6, **q).rows]
             for q in queries]
    frame = nbtrack.runs(store=store).drop(columns=["duration"])
    return [pages, frame]


def same(a: list[Any], b: list[Any]) -> None:
    assert repr(a[0]) == repr(b[0])  # (repr: NaN equals NaN)
    pd.testing.assert_frame_equal(a[1], b[1])


@pytest.fixture(autouse=True)
def no_automatic_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Packs are written when a test says so (refreshes would write them past 1,000 runs)."""
    monkeypatch.setenv("NBTRACK_PACK_MIN_RUNS", "0")


def test_rows_are_the_same_before_and_after_compaction_from_logs_or_packs(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    ids = write_runs(url, 24)
    store = fresh(url, tmp_path / "first")
    before = answers(store)
    report = compact(store.index, store.backend, min_runs=10)
    assert report.runs == 24 and len(report.summary_packs) == 1
    same(answers(store), before)  # the index that wrote the pack

    other = fresh(url, tmp_path / "second")
    read: list[str] = []
    real = other.backend.read_log
    other.backend.read_log = lambda key, offset=0: read.append(key) or real(key, offset)  # type: ignore[method-assign]
    assert other.index.refresh() == 24
    assert read == []  # every run came from the pack: no log read
    same(answers(other), before)
    assert {r.id for r in page(other, limit=None).rows} == set(ids)


def test_a_fresh_machine_reads_the_packs_then_only_the_loose_runs(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    write_runs(url, 20)
    writer = fresh(url, tmp_path / "writer")
    writer.index.refresh()
    compact(writer.index, writer.backend, min_runs=1)
    late = write_runs(url, 3, first=20)
    writer.annotate(late[0], {"t": "note", "ts": T0, "text": "added later"})

    other = fresh(url, tmp_path / "fresh")
    read: list[str] = []
    real = other.backend.read_log
    other.backend.read_log = lambda key, offset=0: read.append(key) or real(key, offset)  # type: ignore[method-assign]
    assert other.index.refresh() == 23
    assert sorted(k.split("/")[1] for k in read) == sorted(late)
    assert page(other, "added", limit=None).total == 1
    same(answers(other), answers(writer))


def test_compaction_is_idempotent_and_waits_for_enough_runs(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    write_runs(url, 5)
    store = fresh(url, tmp_path / "index")
    store.index.refresh()
    assert compact(store.index, store.backend, min_runs=6).runs == 0  # not enough loose runs
    assert pack_files(store) == ([], [])
    assert compact(store.index, store.backend, min_runs=5).runs == 5
    again = fresh(url, tmp_path / "again")
    again.index.refresh()
    assert compact(again.index, again.backend, min_runs=1).runs == 0  # all packed already
    packs, seqs = pack_files(store)
    assert len(packs) == 1 and seqs == [0]


def test_a_refresh_packs_when_it_sees_many_loose_finished_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    url = str(tmp_path / "store")
    write_runs(url, 12)
    run = nbtrack.start("still running", store=url)  # not finished: never packed
    monkeypatch.setenv("NBTRACK_PACK_MIN_RUNS", "10")
    store = fresh(url, tmp_path / "index")
    store.index.refresh()
    packs, seqs = pack_files(store)
    assert len(packs) == 1 and seqs == [0]
    assert store.index.loose_count() == 0
    assert {r.id for r in page(store, "status=running", limit=None).rows} == {run.id}
    run.finish()


RACER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from nbtrack.store import compaction
    from nbtrack.store.registry import open_backend
    from nbtrack.store.store import Store

    url, index_dir, me, other = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    index_dir.mkdir(parents=True, exist_ok=True)
    store = Store(open_backend(url), index_file=index_dir / "index.sqlite")
    store.index.refresh()
    real = compaction.publish

    def publish(*args, **kwargs):  # both racers hold a pack before either claims its entry
        me.touch()
        deadline = time.time() + 60
        while not other.exists() and time.time() < deadline:
            time.sleep(0.01)
        return real(*args, **kwargs)

    compaction.publish = publish
    report = compaction.compact(store.index, store.backend, min_runs=1)
    print(json.dumps({"runs": report.runs, "packs": report.summary_packs, "lost": report.lost_races}))
    """
)


def race(url: str, tmp_path: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    flags = [tmp_path / "a.ready", tmp_path / "b.ready"]
    procs = [subprocess.Popen([sys.executable, "-c", RACER, url, str(tmp_path / f"index-{i}"), str(flags[i]),
                               str(flags[1 - i])], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in (0, 1)]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in results]


@pytest.mark.parametrize("where", ["folder", "s3"])
def test_two_processes_compacting_at_once_leave_one_set_of_packs_and_lose_no_run(
    where: str, tmp_path: Path, child_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    url = str(tmp_path / "store") if where == "folder" else request.getfixturevalue("s3_server").url()
    ids = write_runs(url, 30)
    outcome = race(url, tmp_path, child_env | S3_ENV | {"NBTRACK_PACK_MIN_RUNS": "0"})
    winners = [o for o in outcome if o["runs"]]
    assert len(winners) == 1 and winners[0]["runs"] == 30  # one client packed them all...
    assert sorted(o["lost"] for o in outcome) == [0, 1]  # ...the other lost the entry and stopped
    store = fresh(url, tmp_path / "reader")
    packs, seqs = pack_files(store)
    assert len(packs) == 1 and seqs == [0]
    assert store.index.refresh() == 30
    assert {r.id for r in page(store, limit=None).rows} == set(ids)
    assert store.index.loose_count() == 0


def test_a_damaged_pack_is_detected_and_its_runs_read_from_their_logs(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    ids = write_runs(url, 15)
    writer = fresh(url, tmp_path / "writer")
    before = answers(writer)
    compact(writer.index, writer.backend, min_runs=1)
    (summary,) = [k for k in pack_files(writer)[0] if k.startswith("packs/summaries/")]
    path = Path(url) / summary
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    other = fresh(url, tmp_path / "reader")
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert other.index.refresh() == 15
    same(answers(other), before)
    assert other.index.loose_count() == 15  # not packed for this machine: the next compaction repacks them
    report = fsck(other)
    assert not report.ok and report.damaged_packs == [summary]
    assert any("damaged pack" in line for line in report.lines())
    # packing the same runs again makes the same bytes: the damaged copy is replaced
    assert compact(other.index, other.backend, min_runs=1).runs == 15
    assert fsck(other).ok
    third = fresh(url, tmp_path / "third")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert {r.id for r in page(third, limit=None).rows} == set(ids)
    assert third.index.loose_count() == 0


def test_entries_name_their_packs_and_packs_are_plain_parquet(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    write_runs(url, 6)
    store = fresh(url, tmp_path / "index")
    store.index.refresh()
    compact(store.index, store.backend, min_runs=1)
    entries = [json.loads(store.backend.read(f"{PACK_LIST}/{seq:010d}")) for seq in entry_seqs(store.backend)]
    assert [e["kind"] for e in entries] == ["summaries"]  # metrics packs are no longer written
    assert not (Path(url) / "packs" / "metrics").exists()
    frame = pd.read_parquet(Path(url) / "packs" / "summaries")
    assert sorted(frame["name"]) == sorted(f"run {i}" for i in range(6))


def test_packs_round_trip_on_every_backend(store_url: str, tmp_path: Path) -> None:
    """Every backend stores packs and their list (the team server checks that a pack hashes to
    its name); a reader of any of them loads the packed runs without reading a log."""
    ids = write_runs(store_url, 5)
    writer = fresh(store_url, tmp_path / "writer")
    writer.index.refresh()
    report = compact(writer.index, writer.backend, min_runs=1)
    assert report.runs == 5
    reader = fresh(store_url, tmp_path / "reader")
    read: list[str] = []
    real = reader.backend.read_log
    reader.backend.read_log = lambda key, offset=0: read.append(key) or real(key, offset)  # type: ignore[method-assign]
    assert {r.id for r in page(reader, limit=None).rows} == set(ids) and read == []
    assert fsck(reader).ok
