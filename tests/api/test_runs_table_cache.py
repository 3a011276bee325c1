"""``nbtrack.runs()`` of every run keeps the finished runs' columns in a file beside the index
(``nbtrack.api.frame``): whatever changes in the store afterwards (a finished run added with an
older id, an annotation, a running run that finishes, a run whose log is deleted), the next call
answers exactly what a build from SQL answers, and a cache file that is damaged or was built
on another index file is never used."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pandas as pd

import nbtrack
from nbtrack.api.whole import WholeRun
from nbtrack.core import framing, records
from nbtrack.core.identity import boot_id
from nbtrack.core.series import Batch, encode_metrics
from nbtrack.store.local import LocalBackend
from nbtrack.store.store import Store

T0 = 1_700_000_000.0


def finished(store: Store, second: int, lr: float | str) -> str:
    run = WholeRun(f"01h{second:013d}", T0 + second, {"name": f"run {second}", "tags": ["t", f"g{second % 2}"]})
    run.params({"lr": lr, "seed": second})
    run.metric("loss", [0, 1], [T0 + second] * 2, [1.0, 0.5 / (second + 1)])
    run.write(store, ended=T0 + second + 5)
    return run.id


def running(store: Store, second: int) -> str:
    """A run whose process (this one) is alive and still writing: no status record yet."""
    run_id = f"01h{second:013d}"
    header = records.run_header(run_id, 10.0, {"name": f"live {second}", "user": "ann", "host": "h", "tags": [],
                                               "boot_id": boot_id(), "pid": os.getpid()}, ts=T0 + second)
    store.append(run_id, framing.encode_many([header, records.params({"width": 8}, ts=T0 + second),
                                              records.heartbeat(ts=time.time())]))
    store.sync(run_id)
    return run_id


def open_at(folder: Path, index: str = "index.sqlite") -> Store:
    return Store(LocalBackend(str(folder / "store")), index_file=folder / index)


def from_sql(store: Store) -> pd.DataFrame:
    """What ``runs()`` answers with no kept table (a fresh one built from SQL)."""
    kept = store.index.path.with_name(f"{store.index.path.name}.table")
    kept.unlink(missing_ok=True)
    return nbtrack.runs(store=store)


def check(store: Store) -> pd.DataFrame:
    got = nbtrack.runs(store=store)
    expected = from_sql(store)
    got["duration"], expected["duration"] = got["duration"].round(), expected["duration"].round()
    pd.testing.assert_frame_equal(got, expected)
    assert list(got["id"]) == sorted(got["id"])
    return got


def test_the_kept_table_follows_every_change_to_the_store(tmp_path: Path) -> None:
    store = open_at(tmp_path)
    ids = [finished(store, s, lr) for s, lr in ((10, 0.1), (20, "1e-3"), (30, 0.01))]
    first = nbtrack.runs(store=store)
    assert list(first["id"]) == ids
    assert store.index.path.with_name(f"{store.index.path.name}.table").exists()

    older = finished(store, 15, 0.5)  # a finished run whose id falls between the kept ones
    live = running(store, 25)
    store.annotate(ids[0], {"t": "note", "ts": T0, "text": "looked at"})
    got = check(store)
    assert list(got["id"]) == [ids[0], older, ids[1], live, ids[2]]
    assert got.set_index("id").loc[live, "status"] == "running"
    assert got.set_index("id").loc[live, "params.width"] == 8
    assert got.set_index("id").loc[ids[0], "notes"] == ["looked at"]

    points = encode_metrics([Batch(("loss",), [0.0], [T0 + 26], [[0.25]])], T0 + 26)
    store.append(live, framing.encode_many([*points, records.status("finished", ts=T0 + 27)]))
    store.end(live)
    got = check(store)
    assert got.set_index("id").loc[live, "status"] == "finished"
    assert got.set_index("id").loc[live, "metrics.loss.last"] == 0.25

    shutil.rmtree(tmp_path / "store" / "runs" / older)  # a log deleted (nbtrack gc, by hand)
    got = check(store)
    assert older not in set(got["id"])
    store.close()


def test_a_damaged_table_or_one_built_on_another_index_is_not_used(tmp_path: Path) -> None:
    first = open_at(tmp_path)
    for second in (1, 2, 3):
        finished(first, second, 0.1)
    nbtrack.runs(store=first)
    kept = first.index.path.with_name(f"{first.index.path.name}.table")

    other = open_at(tmp_path / "other")
    finished(other, 9, 0.2)
    nbtrack.runs(store=other)  # the same generation as the first index's: only the file's uuid differs
    shutil.copyfile(kept, other.index.path.with_name(f"{other.index.path.name}.table"))
    assert list(nbtrack.runs(store=other)["id"]) == [f"01h{9:013d}"]

    kept.write_bytes(kept.read_bytes()[: len(kept.read_bytes()) // 2])
    assert len(check(first)) == 3
    first.close()
    other.close()
