"""Data versions and the model registry on every kind of store: a folder, a bucket (a real S3
server on loopback) and a team server over HTTP. Concurrency is real processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nbtrack
from nbtrack.api.data import data_version, data_versions, get_data, runs_using, store_data
from nbtrack.api.models import lineage, model_version, models
from nbtrack.server.payloads import run_detail
from nbtrack.store import versions
from nbtrack.store.maintenance import gc
from nbtrack.store.store import open_store
from tests.store.conftest import STORE_BACKENDS

KINDS = ("local", "s3", "http")


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return STORE_BACKENDS[request.param](request, tmp_path)


def blob_bytes(url: str) -> int:
    return sum(info.size for info in open_store(url).backend.list("blobs"))


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def make_folder(root: Path) -> Path:
    """A small dataset: 20 small files, one 3 MB binary, one CSV (about 4 MB in all)."""
    rng = __import__("random").Random(7)
    for i in range(20):
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "images" / f"img{i:02d}.bin").write_bytes(rng.randbytes(20_000 + 1000 * i))
    (root / "shard.bin").write_bytes(rng.randbytes(3_000_000))
    (root / "labels.csv").write_text("".join(f"{i},{rng.randint(0, 9)}\n" for i in range(40_000)))
    return root


def test_a_changed_file_costs_about_its_change_and_get_returns_the_same_bytes(
    url: str, tmp_path: Path, child_env: dict[str, str]
) -> None:
    folder = make_folder(tmp_path / "train")
    first = store_data(open_store(url), folder, "train-images")
    assert first["ref"] == "train-images@1" and first["new"] and first["files"] == 22
    stored_once = blob_bytes(url)
    assert first["bytes"] <= stored_once < first["bytes"] * 1.05  # the content, plus a small manifest
    v1 = tree_digest(folder)

    change = 40_000  # 1% of the folder, inserted in the middle of the large file: what follows shifts
    shard = (folder / "shard.bin").read_bytes()
    (folder / "shard.bin").write_bytes(shard[:1_500_000] + os.urandom(change) + shard[1_500_000:])
    second = store_data(open_store(url), folder, "train-images")
    added = blob_bytes(url) - stored_once
    assert second["ref"] == "train-images@2" and second["new"]
    assert 0 <= added - second["new_bytes"] < 10_000  # beside the new chunks: the manifest only
    # content-defined chunks: the change plus its neighbouring chunks, not the shifted rest of the file
    assert change <= second["new_bytes"] <= change + 2 * 1024 * 1024
    assert added < 0.35 * first["bytes"], (added, first["bytes"])

    same = store_data(open_store(url), folder, "train-images")
    assert same["ref"] == "train-images@2" and not same["new"] and same["stored_bytes"] == 0

    get_data("train-images@1", tmp_path / "v1", store=url)
    assert tree_digest(tmp_path / "v1") == v1
    done = subprocess.run([sys.executable, "-m", "nbtrack", "--store", url, "data", "get", "train-images@2",
                           "-o", str(tmp_path / "v2")], env=child_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert tree_digest(tmp_path / "v2") == tree_digest(folder)

    # gc keeps every chunk a version names (nothing here is referenced by a run)
    assert gc(open_store(url), grace=0).removed_blobs == []
    get_data("train-images@1", tmp_path / "after-gc", store=url)
    assert tree_digest(tmp_path / "after-gc") == v1


def test_gc_removes_what_nothing_names(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    store = open_store(url)
    orphan = store.put_blob(b"nobody refers to this")
    store_data(store, make_folder(tmp_path / "d"), "kept")
    removed = gc(store, grace=0).removed_blobs
    assert removed == [orphan]


def test_without_the_chunker_track_data_keeps_a_fingerprint_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbtrack.api import data

    monkeypatch.setitem(sys.modules, "pyfastcdc", None)  # as if nbtrack[data] were not installed
    data.chunking_available.cache_clear()
    folder = make_folder(tmp_path / "d")
    try:
        with nbtrack.start("no chunker", store=str(tmp_path / "store")) as run, \
                pytest.warns(RuntimeWarning, match="fingerprint only"):
            found = nbtrack.track_data(folder, name="ignored")
    finally:
        data.chunking_available.cache_clear()
    assert found["files"] == 22 and "version" not in found
    recorded = nbtrack.get_run(run.id, str(tmp_path / "store")).data
    assert len(recorded) == 1 and "name" not in recorded[0] and "content" not in recorded[0]


def test_a_number_taken_after_the_listing_is_skipped_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race made certain: another writer publishes between this writer's listing and its
    write, so the number it picked is taken; it must take the next, and change nothing."""
    store = open_store(str(tmp_path / "store"))
    first = versions.publish(store, "data/shared", {"name": "shared", "by": "first"})
    monkeypatch.setattr(versions, "numbers", lambda store, prefix: [])  # a listing from before `first`
    second = versions.publish(store, "data/shared", {"name": "shared", "by": "second"})
    assert (first["version"], second["version"]) == (1, 2)
    assert versions.read(store, "data/shared", 1)["by"] == "first"


def test_a_crafted_manifest_cannot_write_outside_its_folder(tmp_path: Path) -> None:
    """Someone with write access to a shared store publishes a model whose manifest names
    ``../../escaped.txt``: resolving it refuses, and nothing is written outside the cache."""
    url = str(tmp_path / "store")
    store = open_store(url)
    sha = store.put_blob(b"payload")
    for kind, path in (("file", "../../escaped.txt"), ("folder", "a/../../../escaped.txt")):
        manifest = store.put_json({"format": "nbtrack-content/1", "kind": kind, "sha256": sha, "bytes": 7,
                                   "files": [{"path": path, "size": 7, "sha256": sha, "chunks": [[sha, 7]]}]})
        version = versions.publish(store, "models/evil", {"name": "evil", "content": manifest})["version"]
        with pytest.raises(ValueError, match="unsafe path"):
            nbtrack.model_path(f"evil@{version}", store=url)
    assert not list(tmp_path.rglob("escaped.txt"))


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import nbtrack
    from nbtrack.api.data import store_data
    from nbtrack.store.store import open_store
    url, what, folder, go = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    while not go.exists():
        time.sleep(0.01)
    if what == "data":
        print(json.dumps(store_data(open_store(url), folder, "shared")["version"]))
    else:
        print(json.dumps(nbtrack.register_model("faces", folder, store=url)["version"]))
    """
)


@pytest.mark.parametrize("what", ["data", "model"])
def test_processes_versioning_one_name_at_once_get_distinct_numbers(
    url: str, what: str, tmp_path: Path, child_env: dict[str, str]
) -> None:
    go = tmp_path / "go"
    folders = []
    for i in range(3):
        folder = tmp_path / f"content{i}"
        folder.mkdir()
        (folder / "weights.bin").write_bytes(os.urandom(50_000) + bytes([i]))  # distinct content each
        folders.append(folder)
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, what, str(f), str(go)], env=child_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in folders]
    go.touch()
    results = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    numbers = sorted(int(out.strip()) for out, _ in results)
    assert numbers == [1, 2, 3]  # distinct, and none lost
    kind_versions = (
        [data_version(f"shared@{n}", url) for n in numbers] if what == "data"
        else [model_version(f"faces@{n}", url) for n in numbers]
    )
    assert len({v["sha256"] for v in kind_versions}) == 3


PROMOTE_READER = textwrap.dedent(
    """
    import sys
    import nbtrack
    print(nbtrack.model_path(sys.argv[2], store=sys.argv[1]).read_bytes().decode())
    """
)


def test_models_register_promote_and_resolve_from_another_process(
    url: str, tmp_path: Path, child_env: dict[str, str]
) -> None:
    weights = tmp_path / "model.pkl"
    with nbtrack.start("train faces", store=url, params={"lr": 0.1}) as run:
        data = tmp_path / "faces-data"
        data.mkdir()
        (data / "a.txt").write_text("faces")
        tracked = nbtrack.track_data(data, name="faces-data")
        nbtrack.log(step=0, acc=0.9)
        weights.write_bytes(b"version one")
        first = nbtrack.register_model("faces", weights, aliases=["staging"])
        nbtrack.log_artifact(b"version two", name="model-v2.pkl")
        second = nbtrack.register_model("faces", "model-v2.pkl")  # an artifact of the active run
    assert (first["ref"], second["ref"]) == ("faces@1", "faces@2")
    assert tracked["ref"] == "faces-data@1"

    env = child_env | {"NBTRACK_INDEX_DIR": str(tmp_path / "other-machine")}

    def read_in_other_process(ref: str) -> str:
        done = subprocess.run([sys.executable, "-c", PROMOTE_READER, url, ref], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert read_in_other_process("faces@staging") == "version one"
    assert read_in_other_process("faces") == "version two"  # the latest
    done = subprocess.run([sys.executable, "-m", "nbtrack", "--store", url, "models", "promote", "faces@2", "staging"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert read_in_other_process("faces@staging") == "version two"
    assert nbtrack.model_path("faces@staging", store=url).read_bytes() == b"version two"
    assert models(url) == [{"name": "faces", "versions": [1, 2], "latest": 2, "aliases": {"staging": 2}}]

    stored = nbtrack.get_run(run.id, url)
    assert [m["ref"] for m in stored.models] == ["faces@1", "faces@2"]
    detail = run_detail(stored)  # what the REST API (and the lab sidebar) gets
    assert detail["models"] == [{"name": "faces", "version": 1, "ref": "faces@1"},
                                {"name": "faces", "version": 2, "ref": "faces@2"}]
    assert [(d["name"], d["version"]) for d in detail["data"]] == [("faces-data", 1)]
    assert [(d["name"], d["version"]) for d in stored.data] == [("faces-data", 1)]
    assert [s.id for s in runs_using(url, "faces-data", 1)] == [run.id]
    shown = subprocess.run([sys.executable, "-m", "nbtrack", "--store", url, "data", "show", "faces-data"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and f"run      {run.id} train faces (finished)" in shown.stdout, shown.stderr
    found = lineage("faces@staging", url)
    assert found["model"]["version"] == 2 and found["aliases"] == {"staging": 2}
    assert found["run"]["id"] == run.id and found["run"]["params"] == {"lr": 0.1}
    assert found["run"]["data"][0]["name"] == "faces-data" and found["run"]["environment"]["packages"] > 0
    # gc keeps model versions, and everything the run refers to
    assert gc(open_store(url), grace=0).removed_blobs == []


def test_sync_brings_the_data_versions_and_models_runs_name(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A laptop's store synced to the team bucket: a run's data version (every chunk, not only its
    manifest), the model it registered and that model's aliases arrive, and read back whole."""
    from nbtrack.store.sync import sync_stores

    laptop, bucket = str(tmp_path / "laptop"), STORE_BACKENDS["s3"](request, tmp_path)
    folder = make_folder(tmp_path / "train")
    with nbtrack.start("trains", store=laptop) as run:
        nbtrack.track_data(folder, name="train-images")
        nbtrack.register_model("faces", b"weights", aliases=["staging"])
    store_data(open_store(laptop), folder, "unused")  # a version no run names stays behind

    report = sync_stores(open_store(laptop), open_store(bucket), [run.id])
    assert report.versions == 3  # train-images@1, faces@1, faces' staging alias
    get_data("train-images@1", tmp_path / "from-bucket", store=bucket)
    assert tree_digest(tmp_path / "from-bucket") == tree_digest(folder)
    assert nbtrack.model_path("faces@staging", store=bucket).read_bytes() == b"weights"
    assert [v["name"] for v in data_versions(store=bucket)] == ["train-images"]
    again = sync_stores(open_store(laptop), open_store(bucket), [run.id])
    assert not again.copied_anything
