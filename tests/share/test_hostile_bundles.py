"""Bundles are other people's files: a zip bomb is refused before anything is read whole, a
manifest that lies is refused, and a bundle's log with other bytes of the same size as the
store's is a conflict, not "unchanged"."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nbtrack
from nbtrack.store.bundle import MANIFEST, BundleTooLarge, export_runs, import_bundle
from nbtrack.store.keys import blob_key, log_key
from nbtrack.store.store import open_store

ROOT = Path(__file__).resolve().parents[2]


def bomb(path: Path, member_bytes: int) -> Path:
    """A bundle whose one blob expands from about a megabyte to `member_bytes` of zeros, with a
    manifest and a blob name that look right."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(MANIFEST, json.dumps({"format": 1, "runs": {}}))
        with zf.open(blob_key("0" * 64), "w", force_zip64=True) as member:
            chunk = bytes(1024 * 1024)
            for _ in range(member_bytes // len(chunk)):
                member.write(chunk)
    return path


def test_a_zip_bomb_is_refused_with_a_clear_error_and_little_memory(tmp_path: Path, child_env: dict[str, str]) -> None:
    path = bomb(tmp_path / "bomb.nbtrack.zip", 256 * 1024 * 1024)  # 256 MiB of zeros in ~250 KB
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(BundleTooLarge, match=r"expands \d+x from its compressed size"):
        import_bundle(path, tmp_path / "store")
    # the command, in less address space than reading the member whole would take
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (300 * 1024**2, 300 * 1024**2)); "
    done = subprocess.run([sys.executable, "-c", limit + "import sys; from nbtrack.cli import main; sys.exit(main())",
                           "--store", str(tmp_path / "store"), "import", str(path)],
                          capture_output=True, text=True, env=child_env, cwd=ROOT)
    assert done.returncode == 2 and "zip bomb" in done.stderr and "MemoryError" not in done.stderr


def test_a_bundle_past_the_total_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with nbtrack.start(store=tmp_path / "a") as run:
        nbtrack.log_artifact(b"x" * 50_000, name="weights.bin")
    export_runs([run.id], tmp_path / "b.zip", open_store(tmp_path / "a"))
    monkeypatch.setenv("NBTRACK_BUNDLE_MAX_BYTES", "10000")
    with pytest.raises(BundleTooLarge, match="NBTRACK_BUNDLE_MAX_BYTES"):
        import_bundle(tmp_path / "b.zip", tmp_path / "store")
    assert not open_store(tmp_path / "store").run_ids()


def test_a_log_with_other_bytes_of_the_same_size_is_a_conflict(tmp_path: Path, child_env: dict[str, str]) -> None:
    with nbtrack.start("original", store=tmp_path / "a") as run:
        nbtrack.log(loss=0.5)
    source = open_store(tmp_path / "a")
    export_runs([run.id], tmp_path / "b.zip", source)
    target = open_store(tmp_path / "mine")
    original = source.backend.read_log(log_key(run.id))
    forged = original.replace(b"original", b"ORIGINAL")  # same size, other bytes (and valid frames? no matter)
    assert len(forged) == len(original) and forged != original
    target.append(run.id, forged)
    report = import_bundle(tmp_path / "b.zip", target)
    assert run.id in report.conflicts and "same size" in report.conflicts[run.id]
    assert target.backend.read_log(log_key(run.id)) == forged  # never touched
    done = subprocess.run([sys.executable, "-m", "nbtrack", "--store", str(tmp_path / "mine"), "import",
                           str(tmp_path / "b.zip")], capture_output=True, text=True, env=child_env, cwd=ROOT)
    assert done.returncode == 1 and f"run {run.id} not copied" in done.stderr
    # and the same bundle into a store that holds the same log: unchanged, no conflict
    again = import_bundle(tmp_path / "b.zip", source)
    assert not again.conflicts and again.unchanged_runs == 1
