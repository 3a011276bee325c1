"""The command line against a store someone hostile wrote into: terminal escape sequences in
every field a log can hold never reach the terminal, and a missing blob is a clear error."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbtrack.core import framing, records
from nbtrack.core.ids import new_run_id
from nbtrack.core.series import encode_metrics, group_rows
from nbtrack.store.keys import blob_key
from nbtrack.store.store import open_store

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "nbtrack"]
ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"  # set the title, clear the screen, red
FORBIDDEN = [b"\x1b", b"\x07", b"\xc2\x9b", b"\x08", "\u202e".encode()]


def hostile_run(store_dir: Path, suffix: str = "") -> str:
    """A run log whose every text field carries escape sequences (written as an attacker would:
    straight into the store, not through the API that checks names)."""
    store = open_store(store_dir)
    ts = time.time()
    run_id = new_run_id(ts)
    env = store.put_json({"python": {"version": f"3.11{ESC}"}, "packages": {f"numpy{ESC}": f"1.0{ESC}"}})
    log = [
        {"t": "run", "ts": ts, "id": run_id, "name": f"name{ESC}{suffix}", "tags": [f"tag{ESC}"],
         "note": f"note{ESC}\u202eevil", "user": f"mallory{ESC}", "host": f"host{ESC}", "format": 1,
         "heartbeat": 10.0, "replay_of": f"x{ESC}", "notebook": f"nb{ESC}.ipynb"},
        records.params({f"key{ESC}": f"value{ESC}", "lr": 0.1}),
        *encode_metrics(group_rows([(0, ts, {f"loss{ESC}": 0.5, "acc": 0.9})]), ts),
        records.warning(f"kind{ESC}", f"message{ESC}", [f"cell{ESC}"]),
        records.env(env),
        {"t": "status", "ts": ts + 1, "status": f"failed{ESC}", "error": f"Traceback{ESC}\x08\x08boom"},
    ]
    store.append(run_id, framing.encode_many(log))
    return run_id


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], capture_output=True, env=env, cwd=ROOT, stdin=subprocess.DEVNULL)


def test_no_escape_sequence_reaches_the_terminal(tmp_path: Path, child_env: dict[str, str]) -> None:
    store_dir = tmp_path / "store"
    first, second = hostile_run(store_dir), hostile_run(store_dir, "2")
    planted = store_dir / "runs" / f"evil{ESC}"  # a file name is text too
    planted.mkdir(parents=True)
    (planted / "log").write_bytes(b"junk")
    commands = [
        ["runs"], ["runs", "--json"], ["show", first], ["show", first, "--json"], ["diff", first, second],
        ["fsck"], ["replay", first], ["show", f"zz{ESC}"], ["runs", f"loss{ESC}<1"],
    ]
    for command in commands:
        done = run_cli("--store", str(store_dir), *command, env=child_env)
        output = done.stdout + done.stderr
        assert output.strip(), command
        leaked = [seq for seq in FORBIDDEN if seq in output]
        assert not leaked, f"nbtrack {' '.join(command)!r} printed {leaked}: {output[:300]!r}"
    shown = run_cli("--store", str(store_dir), "show", first, env=child_env).stdout.decode()
    assert "name\\x1b]0;pwned\\x07" in shown and "loss\\x1b" in shown  # escaped, still readable
    listed = run_cli("--store", str(store_dir), "runs", env=child_env).stdout.decode()
    assert "loss\\x1b" in listed  # a metric's name heads its column
    fsck = run_cli("--store", str(store_dir), "fsck", env=child_env).stdout.decode()
    assert "not part of the store layout" in fsck and "evil\\x1b" in fsck


def test_a_missing_blob_is_named_with_its_run(tmp_path: Path, child_env: dict[str, str]) -> None:
    store_dir = tmp_path / "store"
    run_id = hostile_run(store_dir)
    env_sha = next(r["sha256"] for r in open_store(store_dir).read_run(run_id).records if r["t"] == "env")
    (store_dir / blob_key(env_sha)).unlink()
    done = run_cli("--store", str(store_dir), "show", run_id, env=child_env)
    assert done.returncode == 2
    message = done.stderr.decode()
    assert f"run {run_id}: blob {env_sha} is missing" in message and message.strip() != "nbtrack: 2"


def test_json_output_keeps_the_exact_text(tmp_path: Path, child_env: dict[str, str]) -> None:
    store_dir = tmp_path / "store"
    run_id = hostile_run(store_dir)
    done = run_cli("--store", str(store_dir), "show", run_id, "--json", env=child_env)
    assert json.loads(done.stdout)["name"] == f"name{ESC}"  # escaped as JSON, decoded exactly


@pytest.mark.parametrize("name", ["", " ", "a\x1b[2Jb", "x" * 201])
def test_invalid_metric_and_param_names_are_refused_at_the_call(tmp_path: Path, name: str) -> None:
    import nbtrack

    with nbtrack.start(store=tmp_path / "store") as run:
        with pytest.raises(ValueError, match="name must be"):
            nbtrack.log(**{name: 1.0})
        with pytest.raises(ValueError, match="name must be"):
            nbtrack.log_params(**{name: 1})
        nbtrack.log(ok=1.0)
    assert [r["keys"] for r in open_store(tmp_path / "store").read_run(run.id).records if r["t"] == "metrics"] == [
        ["ok"]]


def test_params_nested_5000_deep_are_stored_as_their_repr(tmp_path: Path) -> None:
    import nbtrack

    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with nbtrack.start(store=tmp_path / "store") as run, pytest.warns(UserWarning, match="stored as its repr"):
        nbtrack.log_params(deep=deep, ok=1)
    params = open_store(tmp_path / "store").read_run(run.id).state().params
    assert params["ok"] == 1 and params["deep"].startswith("[[[[") and len(params["deep"]) < 20_000
