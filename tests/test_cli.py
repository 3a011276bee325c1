"""The nbtrack command, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbtrack


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbtrack", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_runs_show_diff_reindex_fsck_gc(tmp_path: Path, child_env: dict[str, str]) -> None:
    store = str(tmp_path / "store")
    env = child_env | {"NBTRACK_STORE": store}
    a = nbtrack.start("<img src=x onerror=alert(1)>", params={"lr": 0.1, "depth": 3}, store=store)
    nbtrack.log(loss=0.5)
    nbtrack.finish()
    b = nbtrack.start("second", params={"lr": 0.2, "depth": 3, "extra": True}, store=store)
    nbtrack.log(loss=0.25)
    nbtrack.finish()

    listing = cli("runs", env=env)
    assert listing.returncode == 0, listing.stderr
    assert a.id in listing.stdout and "second" in listing.stdout and "<img src=x" in listing.stdout
    rows = json.loads(cli("runs", "--json", env=env).stdout)
    assert [r["id"] for r in rows] == [a.id, b.id]
    assert json.loads(cli("runs", "--json", "loss<0.3", env=env).stdout)[0]["id"] == b.id

    shown = cli("show", b.id[:13], env=env)
    assert shown.returncode == 0 and "lr = 0.2" in shown.stdout and "loss" in shown.stdout

    diff = cli("diff", a.id, b.id, env=env)
    assert "changed  lr: 0.1 -> 0.2" in diff.stdout and "added    extra" in diff.stdout
    assert "depth" not in diff.stdout.split("metrics")[0]
    assert "loss: 0.5 -> 0.25" in diff.stdout

    assert "indexed 2 runs" in cli("reindex", env=env).stdout
    assert cli("fsck", env=env).stdout.strip().endswith("ok")
    assert "removed 0 blobs" in cli("gc", env=env).stdout


def test_bad_input_gives_one_line_errors(tmp_path: Path, child_env: dict[str, str]) -> None:
    env = child_env | {"NBTRACK_STORE": str(tmp_path / "store")}
    unknown = cli("show", "zzzz", env=env)
    assert unknown.returncode == 2 and unknown.stderr.strip() == "nbtrack: no run matches 'zzzz'"
    bad_filter = cli("runs", "loss<", env=env)
    assert bad_filter.returncode == 2 and "FIELD OP VALUE" in bad_filter.stderr
    assert "Traceback" not in unknown.stderr + bad_filter.stderr
