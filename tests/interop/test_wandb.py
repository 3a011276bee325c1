"""Offline run folders written by the real ``wandb`` (WANDB_MODE=offline: no network)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nbtrack
from nbtrack.cli import main

pytest.importorskip("wandb")

WRITER = r"""
import sys, wandb
run = wandb.init(project="demo", config={"lr": 0.01, "layers": [2, 3], "optimizer": {"name": "adam", "beta": 0.9}},
                 notes="offline try", tags=["cpu"], name="tiny", group="g1")
for i in range(6):
    run.log({"loss": 1.0 / (i + 1), "acc": i / 10, "text": "not a number"})
run.log({"val_loss": 0.25}, step=9)
run.summary["best_acc"] = 0.5
open("weights.bin", "wb").write(b"weights")
run.save("weights.bin", policy="now")
run.finish(exit_code=int(sys.argv[1]))
"""


def _write_offline_run(folder: Path, exit_code: int = 0) -> None:
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(folder), "WANDB_SILENT": "true",
           "WANDB_DISABLE_GIT": "true", "WANDB_CONSOLE": "off", "WANDB_INIT_TIMEOUT": "120"}
    subprocess.run([sys.executable, "-c", WRITER, str(exit_code)], cwd=folder, env=env, check=True, timeout=300)


@pytest.fixture(scope="module")
def wandb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wandb-project")
    _write_offline_run(folder)
    _write_offline_run(folder, exit_code=3)
    return folder


def test_offline_runs_import_with_config_history_summary_files_and_status(wandb_folder: Path, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "store")
    assert main(["--store", store, "import", "--from", "wandb", str(wandb_folder)]) == 0
    assert "2 new runs" in capsys.readouterr().out
    frame = nbtrack.runs(store=store)
    assert sorted(frame["status"]) == ["failed", "finished"]
    run = nbtrack.get_run(frame[frame["status"] == "finished"]["id"].iloc[0], store=store)
    assert run.name == "tiny" and run.notes == ["offline try"]
    assert sorted(run.tags) == ["cpu", "group=g1"]
    assert run.params == {"lr": 0.01, "layers": [2, 3], "optimizer.name": "adam", "optimizer.beta": 0.9}
    loss = run.metrics[run.metrics["key"] == "loss"]
    assert list(loss["step"]) == [0, 1, 2, 3, 4, 5]
    assert list(loss["value"]) == pytest.approx([1.0 / (i + 1) for i in range(6)])
    assert (loss["time"] >= run.state.started - 1).all() and loss["time"].is_monotonic_increasing
    assert "text" not in set(run.metrics["key"])  # not a number
    assert list(run.metrics[run.metrics["key"] == "val_loss"]["step"]) == [9]
    assert run.state.metrics["best_acc"].last == 0.5  # a summary value never logged to history
    assert run.artifact("weights.bin") == b"weights"
    assert {a["name"] for a in run.artifacts} == {"weights.bin"}  # not W&B's own files
    origin = run.state.origin
    assert origin["system"] == "wandb" and origin["project"] == "demo" and origin["id"].endswith(origin["folder"][-8:])
    failed = nbtrack.get_run(frame[frame["status"] == "failed"]["id"].iloc[0], store=store)
    assert failed.state.error == "exit code 3"

    assert main(["--store", store, "import", "--from", "wandb", str(wandb_folder / "wandb")]) == 0
    assert "0 new runs, 2 already there" in capsys.readouterr().out


def test_a_saved_file_linking_out_of_the_project_is_not_imported(wandb_folder: Path, tmp_path: Path) -> None:
    from nbtrack.interop import wandb as importer

    source = sorted(wandb_folder.glob("wandb/offline-run-*"))[0]
    copy = tmp_path / "copied" / "wandb" / source.name
    shutil.copytree(source, copy, symlinks=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the store")
    (copy / "files" / "weights.bin").unlink()
    (copy / "files" / "weights.bin").symlink_to(secret)  # a run folder from elsewhere, pointing out
    store = nbtrack.open_store(tmp_path / "store")
    report = importer.import_runs(str(tmp_path / "copied"), store)
    run = nbtrack.get_run(report.copied[0], store=store)
    assert run.artifacts == [] and run.params["lr"] == 0.01


@pytest.mark.parametrize("damage", ["torn", "flipped"])
def test_a_damaged_run_log_imports_what_precedes_the_damage_as_crashed(wandb_folder: Path, tmp_path: Path,
                                                                        damage: str) -> None:
    from nbtrack.interop import wandb as importer

    source = sorted(wandb_folder.glob("wandb/offline-run-*"))[0]
    torn = tmp_path / "torn" / source.name
    torn.mkdir(parents=True)
    (log,) = source.glob("*.wandb")
    data = bytearray(log.read_bytes())
    at = data.index(b"val_loss")  # inside the record of step 9, after every record of steps 0-5
    if damage == "torn":
        del data[at:]
    else:
        data[at] ^= 0x20  # one flipped bit: the record's checksum no longer matches
    (torn / log.name).write_bytes(bytes(data))
    store = nbtrack.open_store(tmp_path / "store")
    report = importer.import_runs(str(tmp_path / "torn"), store)
    run = nbtrack.get_run(report.copied[0], store=store)
    assert run.status == "crashed"  # no exit record
    assert list(run.metrics[run.metrics["key"] == "loss"]["step"]) == [0, 1, 2, 3, 4, 5]
    assert "val_loss" not in set(run.metrics["key"])
