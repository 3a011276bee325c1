"""Runs in and out of other trackers: import from MLflow (``mlflow.py``), W&B offline folders
(``wandb.py``) and TensorBoard event files (``tensorboard.py``); export to MLflow.

An imported run is written whole (``nbtrack.api.whole``) with its origin in its header
(``origin``: ``{system, id, uri, ...}``). Its id is derived from the origin's own id
(``core.ids.derived_run_id``), so importing the same run again finds it already there and adds
nothing; runs still running at their origin are left for a later import. Each module imports
its tracker's package when it is used; ``import nbtrack`` imports none.
"""
