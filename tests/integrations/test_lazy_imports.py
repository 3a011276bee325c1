"""Importing nbtrack, its CLI, or an integration's shared parts loads no framework and no other
tracker: each is imported only by the module that plugs into it."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "keras", "lightning", "transformers", "xgboost", "lightgbm", "sklearn", "optuna", "mlflow",
         "wandb", "tensorboard")


def test_nbtrack_its_cli_and_the_interop_verbs_import_no_framework(child_env: dict[str, str]) -> None:
    code = ("import sys, nbtrack, nbtrack.cli, nbtrack.integrations, nbtrack.integrations.scope, "
            "nbtrack.interop.origin, nbtrack.cli.interop\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=child_env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
