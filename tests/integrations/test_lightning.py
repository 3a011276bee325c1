from __future__ import annotations

from pathlib import Path

import pytest

import nbtrack
from tests.integrations.conftest import only_run, points

L = pytest.importorskip("lightning.pytorch")
torch = pytest.importorskip("torch")


class Tiny(L.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 4, fail_at: int | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> torch.Tensor:
        if self.hparams.fail_at == self.global_step:
            raise RuntimeError("diverged")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)


def _loader() -> torch.utils.data.DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, generator=generator)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4)


def _trainer(logger: object, root: Path, **kw: object) -> L.Trainer:
    return L.Trainer(logger=logger, default_root_dir=root, max_epochs=2, log_every_n_steps=1, accelerator="cpu",
                     enable_progress_bar=False, enable_model_summary=False, **kw)


def test_a_fit_alone_records_hparams_trainer_settings_every_step_and_the_best_checkpoint(store: str, tmp_path) -> None:
    from nbtrack.integrations.lightning import NbtrackLogger

    logger = NbtrackLogger(name="tiny lightning", log_model=True)
    _trainer(logger, tmp_path).fit(Tiny(), _loader(), _loader())
    run = only_run(store)
    assert run.name == "tiny lightning" and run.status == "finished" and logger.version == run.id
    assert run.params["lr"] == 0.05 and run.params["hidden"] == 4
    assert run.params["max_epochs"] == 2 and run.params["optimizer"] == "SGD"
    assert run.params["optimizer.lr"] == 0.05 and run.params["optimizer.momentum"] == 0.9
    assert points(run, "train_loss")[0] == list(range(8))  # 4 batches a epoch, 2 epochs, every step
    assert len(points(run, "val_loss")[0]) == 2  # once per epoch
    checkpoint = torch.load(run.artifact_path("model.ckpt", tmp_path / "ckpt"), weights_only=False)
    assert checkpoint["hyper_parameters"]["lr"] == 0.05


def test_a_fit_that_raises_fails_the_run_it_started(store: str, tmp_path) -> None:
    from nbtrack.integrations.lightning import NbtrackLogger

    with pytest.raises(RuntimeError, match="diverged"):
        _trainer(NbtrackLogger(), tmp_path).fit(Tiny(fail_at=3), _loader())
    run = only_run(store)
    assert run.status == "failed"
    assert points(run, "train_loss")[0] == [0, 1, 2]


def test_inside_an_active_run_the_logger_joins_it(store: str, tmp_path) -> None:
    from nbtrack.integrations.lightning import NbtrackLogger

    with nbtrack.start("notebook") as active:
        _trainer(NbtrackLogger(), tmp_path, max_steps=3).fit(Tiny(), _loader())
        assert nbtrack.active_run() is active
    run = only_run(store)
    assert run.id == active.id and run.params["max_steps"] == 3
    assert points(run, "train_loss")[0] == [0, 1, 2]
