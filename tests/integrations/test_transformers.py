from __future__ import annotations

import json

import pytest

import nbtrack
from tests.integrations.conftest import only_run, points

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


class Sentences(torch.utils.data.Dataset):  # type: ignore[misc]
    def __init__(self, count: int = 16) -> None:
        generator = torch.Generator().manual_seed(0)
        self.ids = torch.randint(1, 30, (count, 6), generator=generator)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ids = self.ids[i]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": torch.tensor(int(ids[0] > 15))}


def _trainer(tmp_path, callback: object, **kw: object) -> transformers.Trainer:
    """A two-layer BERT a few kilobytes big, built from its configuration (nothing downloaded)."""
    config = transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16, num_labels=2)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=4, logging_steps=1, per_device_train_batch_size=4,
        learning_rate=1e-3, report_to="none", save_strategy="no", use_cpu=True, seed=7, **kw)
    model = transformers.BertForSequenceClassification(config)
    return transformers.Trainer(model=model, args=args, train_dataset=Sentences(), eval_dataset=Sentences(8),
                                callbacks=[callback])


def test_a_training_alone_records_its_arguments_the_model_config_each_logged_step_and_the_model(store, tmp_path):
    from nbtrack.integrations.transformers import NbtrackCallback

    trainer = _trainer(tmp_path, NbtrackCallback(name="tiny bert", log_model=True))
    trainer.train()
    run = only_run(store)
    assert run.name == "tiny bert" and run.status == "finished"
    assert run.params["learning_rate"] == 1e-3 and run.params["max_steps"] == 4 and run.params["seed"] == 7
    assert run.params["per_device_train_batch_size"] == 4 and run.params["total_steps"] == 4
    assert run.params["model"] == "BertForSequenceClassification" and run.params["model.hidden_size"] == 16
    steps, losses = points(run, "loss")
    assert steps == [1, 2, 3, 4]
    assert losses == pytest.approx([entry["loss"] for entry in trainer.state.log_history if "loss" in entry])
    assert points(run, "learning_rate")[0] == [1, 2, 3, 4]
    names = {a["name"] for a in run.artifacts}
    assert {"model/config.json", "model/model.safetensors"} <= names
    assert json.loads(run.artifact("model/config.json"))["hidden_size"] == 16


def test_inside_an_active_run_the_training_joins_it_with_its_evaluations(store, tmp_path):
    from nbtrack.integrations.transformers import NbtrackCallback

    with nbtrack.start("notebook") as active:
        _trainer(tmp_path, NbtrackCallback(), eval_strategy="steps", eval_steps=2).train()
        assert nbtrack.active_run() is active
    run = only_run(store)
    assert run.id == active.id and run.params["eval_strategy"] == "steps"
    assert points(run, "eval_loss")[0] == [2, 4]
