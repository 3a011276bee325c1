"""Event files written by ``torch.utils.tensorboard`` (TensorBoard's own reader imports them)."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbtrack
from nbtrack.cli import main

pytest.importorskip("tensorboard")
tensorboard = pytest.importorskip("torch.utils.tensorboard")


def test_a_logdir_imports_one_run_per_folder_with_scalars_hparams_and_text(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logdir = tmp_path / "runs"
    writer = tensorboard.SummaryWriter(str(logdir / "baseline"))
    for step in range(5):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.add_scalar("acc/train", step / 10, step)
    writer.add_text("notes", "augmentation on", 0)
    writer.add_hparams({"lr": 0.01, "optimizer": "adam", "batch": 32}, {"hparam/final_loss": 0.2}, run_name="sweep")
    writer.close()
    store = str(tmp_path / "store")

    assert main(["--store", store, "import", "--from", "tensorboard", str(logdir)]) == 0
    assert "2 new runs" in capsys.readouterr().out
    frame = nbtrack.runs(store=store)
    assert sorted(frame["name"]) == ["baseline", "baseline/sweep"]
    run = nbtrack.get_run(frame[frame["name"] == "baseline"]["id"].iloc[0], store=store)
    loss = run.metrics[run.metrics["key"] == "loss"]
    assert list(loss["step"]) == [0, 1, 2, 3, 4]
    assert list(loss["value"]) == pytest.approx([1.0 / (s + 1) for s in range(5)])
    assert list(run.metrics[run.metrics["key"] == "acc/train"]["value"]) == pytest.approx([s / 10 for s in range(5)])
    assert run.notes == ["notes: augmentation on"] and run.status == "finished"
    assert run.state.started <= loss["time"].min() and run.state.ended >= loss["time"].max()
    assert run.state.origin["system"] == "tensorboard" and run.state.origin["folder"] == "baseline"
    sweep = nbtrack.get_run(frame[frame["name"] == "baseline/sweep"]["id"].iloc[0], store=store)
    assert sweep.params == {"lr": 0.01, "optimizer": "adam", "batch": 32}
    assert sweep.state.metrics["hparam/final_loss"].last == pytest.approx(0.2)

    assert main(["--store", store, "import", "--from", "tensorboard", str(logdir)]) == 0
    assert "0 new runs, 2 already there" in capsys.readouterr().out
    assert main(["--store", store, "show", run.id]) == 0
    assert "imported from tensorboard run baseline/events.out.tfevents." in capsys.readouterr().out


def test_a_folder_without_event_files_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--store", str(tmp_path / "store"), "import", "--from", "tensorboard", str(tmp_path)]) == 2
    assert "no TensorBoard event files" in capsys.readouterr().err
