"""What every integration shares: the run a training writes to, and framework values made plain."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from nbtrack.core.records import FAILED, FINISHED, RUNNING
from nbtrack.core.run import ActiveRun
from nbtrack.core.values import flatten, number, numbers, plain

__all__ = ["TrainingRun", "flatten", "number", "numbers", "plain"]


class TrainingRun:
    """The run a framework's callback writes to: the active run when there is one (it joins it
    and leaves it running), else a run it starts itself (named `name`) and finishes in `end`."""

    def __init__(self, name: str | None = None, tags: Iterable[str] = ()) -> None:
        self.name = name
        self.tags = list(tags)
        self.run: ActiveRun | None = None
        self.owned = False

    def begin(self, default_name: str) -> ActiveRun:
        """The run to write to (the same one until `end`)."""
        if self.run is not None and self.run.status == RUNNING:
            return self.run
        import nbtrack

        run = nbtrack.active_run()
        self.owned = run is None
        if run is None:
            run = nbtrack.start(self.name or default_name, tags=self.tags)
        elif self.tags:
            run.tag(*self.tags)
        self.run = run
        return run

    def end(self, error: str | None = None) -> None:
        """Training ended: finish the run if this scope started it (``failed`` with `error`)."""
        run = self.run  # kept: the id of the run trained stays known
        if run is not None and self.owned and run.status == RUNNING:
            run.finish(FAILED, error=error) if error else run.finish(FINISHED)
        self.owned = False

    def log(self, step: float | None, values: Mapping[str, Any], prefix: str = "") -> None:
        """The numbers among `values` as metrics at `step` (anything else is left out)."""
        scalars = numbers(values, prefix)
        if scalars and self.run is not None and self.run.status == RUNNING:
            self.run.log(step, **scalars)

    def params(self, values: Mapping[str, Any]) -> None:
        if values and self.run is not None and self.run.status == RUNNING:
            self.run.log_params(**{k: plain(v) for k, v in values.items()})

    def model(self, name: str, save: Callable[[Path], Any]) -> None:
        """Store a model as an artifact: `save(path)` writes it to a temporary file or folder
        (a folder is stored one artifact per file, under ``name/``)."""
        if self.run is None or self.run.status != RUNNING:
            return
        with tempfile.TemporaryDirectory(prefix="nbtrack-model-") as folder:
            path = Path(folder) / name
            save(path)
            if path.is_dir():
                for file in sorted(p for p in path.rglob("*") if p.is_file()):
                    self.run.log_artifact(file, f"{name}/{file.relative_to(path).as_posix()}", kind="model")
            else:
                self.run.log_artifact(path, name, kind="model")
