"""The store suite: lifecycle, logs, blobs, index and query, against every backend."""

from __future__ import annotations

import math
import time

import pytest

import nbtrack
from nbtrack.core.ids import AmbiguousId, UnknownRun
from nbtrack.store.maintenance import fsck
from nbtrack.store.store import BlobCorrupt, Store, blob_key, open_store
from tests.store.conftest import Tamper


def test_run_lifecycle_round_trip(store_url: str) -> None:
    run = nbtrack.start("first", tags=["a", "b"], note="why", params={"lr": 0.1, "layers": [1, 2]}, store=store_url)
    for step in range(50):
        nbtrack.log(step=step, loss=1.0 / (step + 1), acc=step / 50)
    nbtrack.log(loss=float("nan"))
    nbtrack.log(loss=float("inf"))
    nbtrack.log_params(batch=32)
    nbtrack.note("second thought")
    nbtrack.tag("c")
    nbtrack.finish()

    frame = nbtrack.runs(store=store_url)
    assert list(frame["id"]) == [run.id]
    row = frame.iloc[0]
    assert row["name"] == "first" and row["status"] == "finished" and row["user"] == "tester"
    assert list(row["tags"]) == ["a", "b", "c"]
    assert row["params.lr"] == 0.1 and row["params.batch"] == 32 and row["params.layers"] == [1, 2]
    assert row["metrics.loss.min"] == pytest.approx(1 / 50)
    assert math.isinf(row["metrics.loss.max"])  # inf is a value like any other; NaN is skipped
    assert math.isinf(row["metrics.loss.last"])
    assert row["metrics.acc.max"] == pytest.approx(49 / 50)
    assert list(row["notes"]) == ["why", "second thought"]

    stored = nbtrack.get_run(run.id, store=store_url)
    loss = stored.metrics[stored.metrics.key == "loss"]
    assert len(loss) == 52
    assert list(loss.step[-2:]) == [50.0, 51.0]  # steps continue after the last explicit one
    assert math.isnan(loss.value.iloc[-2]) and math.isinf(loss.value.iloc[-1])
    assert stored.history().loc[10.0, "acc"] == pytest.approx(10 / 50)


def test_log_is_visible_to_readers_within_the_flush_interval(store_url: str) -> None:
    run = nbtrack.start("live", store=store_url)
    nbtrack.log(step=0, loss=3.0)
    deadline = time.time() + 5
    seen = None
    while time.time() < deadline:
        states = open_store(store_url).index.states()
        seen = states[0].metrics.get("loss") if states else None
        if seen:
            break
        time.sleep(0.1)
    assert seen is not None and seen.last == 3.0
    assert nbtrack.runs(store=store_url).iloc[0]["status"] == "running"
    run.finish()


def test_bad_metric_values_raise_clearly(store_url: str) -> None:
    nbtrack.start(store=store_url)
    with pytest.raises(ValueError, match="metric 'loss' must be a number"):
        nbtrack.log(loss="low")
    with pytest.raises(ValueError, match="metric 'x' must be a number"):
        nbtrack.log(x=None)
    nbtrack.log(flag=True, big=10**20)  # bools and ints are numbers
    nbtrack.finish()
    assert nbtrack.runs(store=store_url).iloc[0]["metrics.flag.last"] == 1.0


def test_unserializable_params_are_stored_as_repr_with_a_warning(store_url: str) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    with pytest.warns(UserWarning, match="not JSON-serializable"):
        nbtrack.start(store=store_url, params={"obj": Opaque(), "ok": 1})
    nbtrack.finish()
    assert nbtrack.runs(store=store_url).iloc[0]["params"] == {"obj": "<Opaque>", "ok": 1}


def test_context_manager_records_failure_and_one_active_run(store_url: str) -> None:
    with pytest.raises(ZeroDivisionError), nbtrack.start("fails", store=store_url):
        nbtrack.log(loss=1)
        _ = 1 / 0
    with pytest.warns(UserWarning, match="finished the active run"):
        first = nbtrack.start("one", store=store_url)
        second = nbtrack.start("two", store=store_url)
    assert first.status == "finished" and nbtrack.active_run() is second
    nbtrack.finish()
    frame = nbtrack.runs(store=store_url).set_index("name")
    assert frame.loc["fails", "status"] == "failed"
    assert "ZeroDivisionError" in (nbtrack.get_run(frame.loc["fails", "id"], store=store_url).state.error or "")
    assert frame.loc["one", "status"] == "finished"
    with pytest.raises(RuntimeError, match="no active run"):
        nbtrack.log(loss=1)


def test_artifacts_and_data_fingerprints(store_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("x,y\n1,2\n")
    (data / "sub" / "b.csv").write_text("x,y\n3,4\n")
    model = tmp_path / "model.bin"
    model.write_bytes(b"\x00weights" * 100)
    run = nbtrack.start(store=store_url)
    first = nbtrack.track_data(data)
    again = nbtrack.track_data(data)
    assert first == again and first["files"] == 2 and first["bytes"] == 16
    (data / "a.csv").write_text("x,y\n1,3\n")
    changed = nbtrack.track_data(data)
    assert changed["sha256"] != first["sha256"]
    sha = nbtrack.log_artifact(model)
    nbtrack.log_artifact(b"raw bytes", name="notes.txt")
    nbtrack.finish()

    stored = nbtrack.get_run(run.id, store=store_url)
    assert stored.artifact("model.bin") == model.read_bytes()
    assert stored.artifact_path("notes.txt", tmp_path / "out").read_bytes() == b"raw bytes"
    assert [a["sha256"] for a in stored.artifacts if a["name"] == "model.bin"] == [sha]
    assert [d["sha256"] for d in stored.data] == [changed["sha256"]]  # latest fingerprint per path
    with pytest.raises(KeyError, match="no artifact 'nope'"):
        stored.artifact("nope")


def test_blobs_are_content_addressed_and_verified(store_url: str) -> None:
    store = open_store(store_url)
    sha = store.put_blob(b"hello")
    assert store.put_blob(b"hello") == sha  # existing blob is success
    assert store.get_blob(sha) == b"hello" and store.has_blob(sha)
    assert not store.has_blob("0" * 64)
    with pytest.raises(ValueError):
        blob_key("../../etc/passwd")


def test_prefix_resolution(store_url: str) -> None:
    ids = []
    for _ in range(3):
        ids.append(nbtrack.start(store=store_url).id)
    nbtrack.finish()
    store = open_store(store_url)
    assert store.resolve(ids[1]) == ids[1]
    assert store.resolve(ids[1][:14] + ids[1][14:]) == ids[1]
    with pytest.raises(AmbiguousId):
        store.resolve(ids[0][:3])
    with pytest.raises(UnknownRun):
        store.resolve("zzzz")


def test_index_is_derived_and_incremental(store_url: str) -> None:
    run = nbtrack.start("indexed", store=store_url)
    nbtrack.log(loss=1.0)
    run.flush()
    store = open_store(store_url)
    assert store.index.state(run.id).metrics["loss"].count == 1
    nbtrack.log(loss=0.5)
    run.flush()
    assert store.index.refresh() == 1
    assert store.index.refresh() == 0  # nothing new: nothing re-read
    assert store.index.state(run.id).metrics["loss"].count == 2
    nbtrack.finish()
    assert store.index.rebuild() == 1
    assert store.index.state(run.id).status == "finished"
    assert store.index.state(run.id).metrics["loss"].last == 0.5


def test_annotations_from_anyone_reach_the_index(store_url: str) -> None:
    run = nbtrack.start("annotated", store=store_url)
    nbtrack.finish()
    store = open_store(store_url)
    assert store.index.state(run.id).notes[0:] == []
    store.annotate(run.id, {"t": "note", "ts": time.time(), "text": "reviewed by bob"})
    store.annotate(run.id, {"t": "tags", "ts": time.time(), "add": ["reviewed"]})
    state = store.index.state(run.id)
    assert [n["text"] for n in state.notes] == ["reviewed by bob"] and state.tags == ["reviewed"]
    assert state.status == "finished"


def test_filters(store_url: str) -> None:
    for lr, loss, tag in ((0.1, 0.5, "x"), (0.01, 0.2, "y"), (0.001, 0.9, "y")):
        nbtrack.start(f"lr {lr}", tags=[tag], params={"lr": lr}, store=store_url)
        nbtrack.log(loss=loss)
    nbtrack.finish()
    names = lambda f: sorted(nbtrack.runs(f, store=store_url)["name"])  # noqa: E731
    assert names("loss<0.6") == ["lr 0.01", "lr 0.1"]
    assert names("lr>=0.01 tag=y") == ["lr 0.01"]
    assert names({"params.lr": 0.001}) == ["lr 0.001"]
    assert names("0.001") == ["lr 0.001"]
    assert names("status=finished") == ["lr 0.001", "lr 0.01", "lr 0.1"]
    assert names(lambda row: row["metrics.loss.last"] > 0.8) == ["lr 0.001"]
    with pytest.raises(ValueError, match="FIELD OP VALUE"):
        nbtrack.runs("loss<", store=store_url)


def test_corrupt_blob_is_detected_on_read(store_url: str, tamper: Tamper) -> None:
    store: Store = open_store(store_url)
    sha = store.put_blob(b"precious")
    if store_url.startswith("http"):  # a team server refuses deletes and forged blobs (tamper writes on its disk)
        with pytest.raises(PermissionError, match="never deletes"):
            store.backend.delete(blob_key(sha))
        with pytest.raises(ValueError, match="do not hash to its name"):
            store.backend.write_once(blob_key("0" * 64), b"tampered")
    tamper(blob_key(sha), b"tampered")
    assert store.get_blob(sha, verify=False) == b"tampered"  # the bad bytes did reach the store
    with pytest.raises(BlobCorrupt, match="does not match its hash"):
        store.get_blob(sha)
    assert fsck(store).corrupt_blobs == [sha]
