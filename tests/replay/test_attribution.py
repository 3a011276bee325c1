"""Whose code a replay runs is decided from what the store attests (a folder: the account that
owns the run's files; a bucket: nobody), never from the run's self-declared `user` alone. (The
team server's stamps: tests/server/test_store_integrity.py.) No kernel runs here: every replay
below is refused before it would execute anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import nbtrack
from nbtrack.api import Run
from nbtrack.core import records
from nbtrack.core.redact import Redactor
from nbtrack.core.snapshot import SnapshotWriter
from nbtrack.replay import ReplayRefused, replay
from nbtrack.replay.runner import owner_warning
from nbtrack.store.local import account_name
from nbtrack.store.store import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
OTHER_UID = 4242  # an account that owns nothing here


def notebook_run(store: Store, user: str = "tester") -> str:
    """A finished run with one snapshot, recorded by this process (its files are ours)."""
    run = nbtrack.start("nb", store=store, user=user)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('hello')")]
    manifest, cells = SnapshotWriter(store.put_blob, Redactor()).store(nb)
    run.write(records.snapshot(manifest, cells, "stop", "disk", "nb.ipynb"))
    run.finish()
    return run.id


def test_a_run_written_by_this_account_is_ours(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    run_id = notebook_run(store)
    assert owner_warning(Run(store, run_id)) is None


def test_a_run_that_claims_our_name_but_another_account_wrote_is_not_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tmp_path / "store")
    run_id = notebook_run(store, user="tester")  # the header says "tester", as we are
    writer = account_name(os.geteuid())
    monkeypatch.setattr(os, "geteuid", lambda: OTHER_UID)  # now another account replays it
    warning = owner_warning(Run(store, run_id))
    assert warning is not None and f"its log was written by {writer} [file owner]" in warning
    assert run_id in warning and "recorded by tester" in warning and "UTC" in warning
    with pytest.raises(ReplayRefused, match="pass yes=True"):
        replay(run_id, store=store)


def test_a_run_that_names_another_user_is_not_ours_even_when_we_copied_it(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    run_id = notebook_run(store, user="ana")  # e.g. imported from ana's bundle: the files are ours
    warning = owner_warning(Run(store, run_id))
    assert warning is not None and "its user is ana, not tester" in warning


def test_a_bucket_cannot_tell_who_wrote_a_run() -> None:
    store = open_store("memory://attribution-test")
    run_id = notebook_run(store)
    warning = owner_warning(Run(store, run_id))
    assert warning is not None and "this store cannot tell who wrote it" in warning


CLI_AS_OTHER = [sys.executable, "-c",
                f"import os, sys; os.geteuid = lambda: {OTHER_UID}; from nbtrack.cli import main; sys.exit(main())"]


def test_cli_asks_before_replaying_a_run_another_account_wrote(tmp_path: Path, child_env: dict[str, str]) -> None:
    store = open_store(tmp_path / "store")
    run_id = notebook_run(store)
    refused = subprocess.run([*CLI_AS_OTHER, "--store", str(tmp_path / "store"), "replay", run_id],
                             capture_output=True, text=True, env=child_env, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert refused.returncode == 2, refused.stderr
    assert f"its log was written by {account_name(os.geteuid())} [file owner]" in refused.stderr
    assert "--yes" in refused.stderr


@pytest.mark.parametrize("name", ["x; import os", "a b", "1x", "for", "x=1\nimport os"])
def test_replay_parameter_names_must_be_identifiers(tmp_path: Path, child_env: dict[str, str], name: str) -> None:
    store = open_store(tmp_path / "store")
    run_id = notebook_run(store)
    with pytest.raises(ValueError, match="Python identifier"):
        replay(run_id, {name: 1}, store=store, yes=True)
    done = subprocess.run([sys.executable, "-m", "nbtrack", "--store", str(tmp_path / "store"), "replay", run_id,
                           "--yes", "-p", name, "1"], capture_output=True, text=True, env=child_env, cwd=ROOT)
    assert done.returncode == 2 and "must be a Python identifier" in done.stderr
