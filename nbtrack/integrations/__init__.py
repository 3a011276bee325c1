"""Framework integrations: each module plugs nbtrack into one framework's own extension point.

    from nbtrack.integrations.keras import NbtrackCallback          # Keras 3
    from nbtrack.integrations.lightning import NbtrackLogger        # Lightning
    from nbtrack.integrations.transformers import NbtrackCallback   # Hugging Face Trainer
    from nbtrack.integrations.xgboost import NbtrackCallback
    from nbtrack.integrations.lightgbm import callback
    from nbtrack.integrations.sklearn import autolog
    from nbtrack.integrations.optuna import NbtrackCallback

Each module imports its framework when it is itself imported (``import nbtrack`` imports none),
and writes to the active run when there is one (inside ``%nbtrack start`` it joins it), else
starts a run and finishes it when training ends (``scope.TrainingRun``). Install a framework's
extra with ``pip install "nbtrack[keras]"`` (lightning, transformers, xgboost, lightgbm, sklearn,
optuna).
"""
