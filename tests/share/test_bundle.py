"""Bundles and sync: runs move between stores byte for byte, repeatable, verified."""

from __future__ import annotations

import hashlib
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.cli import main
from nbtrack.core.content import chunk_refs
from nbtrack.core.records import refs_of
from nbtrack.store.bundle import BundleCorrupt, export_runs, import_bundle
from nbtrack.store.keys import blob_key, log_key
from nbtrack.store.store import Store, open_store
from nbtrack.store.sync import sync_stores


def _make_runs(store_url: str, tmp_path: Path) -> list[str]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("x,y\n1,2\n")
    ids = []
    for i in range(3):
        with nbtrack.start(f"run {i}", tags=["share"], params={"i": i}, store=store_url) as run:
            for step in range(20):
                nbtrack.log(step=step, loss=1 / (step + 1 + i))
            nbtrack.log_artifact(f"weights {i}".encode() * 100, name="model.bin")
            nbtrack.track_data(data)
            nbtrack.note(f"note {i}")
        ids.append(run.id)
    open_store(store_url).annotate(ids[0], {"t": "note", "ts": time.time(), "text": "reviewed"})
    return ids


def _stored_refs(store: Store, run_id: str) -> set[str]:
    """The blobs the run's records refer to that its store holds (a data record's own sha256 is
    a fingerprint, not a blob)."""
    return {sha for rec in store.read_run(run_id).records for sha in refs_of(rec) if store.has_blob(sha)}


def _fingerprint(store: Store, run_id: str, blobs: set[str]) -> dict[str, str]:
    """sha256 of the run's log, of each of its annotations and of each of `blobs` (must exist)."""
    log = store.backend.read_log(log_key(run_id))
    found = {"log": hashlib.sha256(log).hexdigest()}
    for info in store.backend.list(f"notes/{run_id}"):
        found[info.key] = hashlib.sha256(store.backend.read(info.key)).hexdigest()
    for sha in blobs:
        found[sha] = hashlib.sha256(store.backend.read(blob_key(sha))).hexdigest()
    return found


def _same_run(source: Store, target: Store, run_id: str) -> None:
    blobs = _stored_refs(source, run_id)
    assert _fingerprint(target, run_id, blobs) == _fingerprint(source, run_id, blobs)


def _listing(store: Store) -> dict[str, int]:
    return {i.key: i.size for i in store.backend.list("")} | store.backend.log_sizes("runs")


def test_export_import_round_trip_is_byte_identical_and_idempotent(tmp_path: Path, s3_server: Any) -> None:
    source_url = str(tmp_path / "mine")
    ids = _make_runs(source_url, tmp_path)
    source = open_store(source_url)
    bundle = tmp_path / "runs.nbtrack.zip"
    report = export_runs([ids[0][:10], ids[2]], bundle, source)  # prefixes work
    referenced = _stored_refs(source, ids[0]) | _stored_refs(source, ids[2])
    assert len(referenced) >= 3  # 2 artifacts, 1 data manifest shared by both runs (+ captures)
    # the data version both runs used travels whole: its content manifest lists its chunks
    contents = {r["content"] for i in (ids[0], ids[2]) for r in nbtrack.get_run(i, source).records_of("data")}
    referenced |= {chunk for sha in contents for chunk in chunk_refs(source.get_json(sha))}
    assert sorted(report.new_runs) == sorted([ids[0], ids[2]]) and report.blobs == len(referenced)
    assert report.versions == 1

    target = open_store(s3_server.url())  # the colleague's store: a bucket
    first = import_bundle(bundle, target)
    assert sorted(first.new_runs) == sorted([ids[0], ids[2]]) and first.notes == 1 and first.versions == 1
    for run_id in (ids[0], ids[2]):
        _same_run(source, target, run_id)
    assert target.run_ids() == sorted([ids[0], ids[2]])
    frame = nbtrack.runs(store=target).set_index("id")
    assert frame.loc[ids[0], "notes"] == ["note 0", "reviewed"]
    assert nbtrack.get_run(ids[2], store=target).artifact("model.bin") == b"weights 2" * 100

    before = _listing(target)
    again = import_bundle(bundle, target)
    assert not again.copied_anything and again.unchanged_runs == 2
    assert _listing(target) == before


def test_a_damaged_bundle_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    ids = _make_runs(str(tmp_path / "mine"), tmp_path)
    bundle = tmp_path / "runs.nbtrack.zip"
    export_runs(ids[:1], bundle, str(tmp_path / "mine"))
    with zipfile.ZipFile(bundle) as original:
        entries = {name: original.read(name) for name in original.namelist()}
    blob_name = next(name for name in entries if name.startswith("blobs/"))
    for name, damage in ((blob_name, b"tampered"), (f"runs/{ids[0]}/log", None)):
        altered = dict(entries)
        altered[name] = damage if damage is not None else entries[name][:-3] + b"zzz"
        broken = tmp_path / f"broken-{len(name)}.zip"
        with zipfile.ZipFile(broken, "w") as out:
            for entry, data in altered.items():
                out.writestr(entry, data)
        target = open_store(tmp_path / f"target-{len(name)}")
        with pytest.raises(BundleCorrupt, match=r"hash|manifest"):
            import_bundle(broken, target)
        assert target.run_ids() == [] and list(target.backend.list("blobs")) == []


def test_sync_copies_only_what_is_missing_including_a_live_run(tmp_path: Path) -> None:
    source_url, target_url = str(tmp_path / "laptop"), f"memory://team-{time.time_ns()}"
    done = _make_runs(source_url, tmp_path)
    source, target = open_store(source_url), open_store(target_url)
    live = nbtrack.start("live", store=source_url)
    nbtrack.log(step=0, loss=5.0)
    live.flush()

    first = sync_stores(source, target)
    assert sorted(first.new_runs) == sorted([*done, live.id])
    half = target.backend.log_sizes("runs")[log_key(live.id)]
    assert nbtrack.runs(store=target).set_index("id").loc[live.id, "status"] == "running"

    for step in range(1, 50):
        nbtrack.log(step=step, loss=5.0 / (step + 1))
    nbtrack.finish()
    second = sync_stores(source, target)
    assert second.new_runs == [] and second.extended_runs == [live.id] and second.blobs == 0
    assert second.bytes == source.backend.log_sizes("runs")[log_key(live.id)] - half
    for run_id in [*done, live.id]:
        _same_run(source, target, run_id)
    assert nbtrack.get_run(live.id, store=target).status == "finished"
    assert not sync_stores(source, target).copied_anything


def test_cli_export_import_sync_and_conflicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine, theirs, bundle = tmp_path / "mine", tmp_path / "theirs", tmp_path / "out.nbtrack.zip"
    ids = _make_runs(str(mine), tmp_path)
    assert main(["--store", str(mine), "export", "--filter", "params.i>=1", "-o", str(bundle)]) == 0
    assert "2 new runs" in capsys.readouterr().out
    assert main(["--store", str(theirs), "import", str(bundle)]) == 0
    assert open_store(theirs).run_ids() == sorted(ids[1:])
    assert main(["--store", str(theirs), "import", str(bundle)]) == 0
    assert "0 new runs, 0 extended, 2 unchanged" in capsys.readouterr().out
    assert main(["sync", str(mine), str(theirs)]) == 0
    assert "1 new runs" in capsys.readouterr().out
    assert open_store(theirs).run_ids() == sorted(ids)
    assert main(["--store", str(mine), "export", "-o", str(bundle)]) == 2  # nothing named

    # two different histories under one run id are never merged
    clash = tmp_path / "clash"
    open_store(clash).append(ids[0], b"not the same log at all")
    assert main(["sync", str(mine), str(clash), ids[0]]) == 1
    assert "different logs" in capsys.readouterr().err
    assert open_store(clash).backend.read_log(log_key(ids[0])) == b"not the same log at all"


def test_sync_and_bundles_carry_the_sweeps_of_the_runs_they_copy(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from nbtrack.core.sweep_state import ENV_SWEEP, event, trial_environment
    from nbtrack.store.sweeps import SweepRecord, sweep_ids

    source_url = str(tmp_path / "laptop")
    source = open_store(source_url)
    swept, other = SweepRecord(source, "01sweep0000000001"), SweepRecord(source, "01sweep0000000002")
    for record in (swept, other):
        record.write(event("sweep", id=record.id, name=f"sweep {record.id[-1]}", tags=[], spec={"grid": {}}))
    swept.write(event("attempt", session="s", trial=0, attempt="a0"))
    monkeypatch.setenv(ENV_SWEEP, trial_environment(swept.id, 0, "a0"))
    with nbtrack.start("trial 0", store=source_url) as trial:
        nbtrack.log(loss=0.5)
    monkeypatch.delenv(ENV_SWEEP)
    with nbtrack.start("alone", store=source_url):
        pass

    target = open_store(str(tmp_path / "team"))
    first = sync_stores(source, target, [trial.id])
    assert sweep_ids(target) == [swept.id]  # the trial's sweep, not the other one
    assert first.sweep_events == 3 and "3 sweep events" in first.line()  # sweep, attempt, started
    assert nbtrack.runs(f"sweep={swept.id}", store=target)["id"].tolist() == [trial.id]
    swept.write(event("result", session="s", trial=0, attempt="a0", status="finished", run=trial.id))
    second = sync_stores(source, target)  # the trial's run is unchanged; its sweep went on
    assert second.sweep_events == 1 and second.copied_anything
    state = SweepRecord(target, swept.id).state()
    assert state.trial_status(state.trials[0]) == "finished"
    assert not sync_stores(source, target).copied_anything

    bundle = tmp_path / "trial.nbtrack.zip"
    export_runs([trial.id], bundle, source)
    elsewhere = open_store(str(tmp_path / "elsewhere"))
    import_bundle(bundle, elsewhere)
    assert sweep_ids(elsewhere) == [swept.id]
    state = SweepRecord(elsewhere, swept.id).state()
    assert state.trial_status(state.trials[0]) == "finished"
