"""What every integration shares: the run a training writes to, and framework values made plain."""

from __future__ import annotations

import functools
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from nbtrack.core.records import FAILED, FINISHED, RUNNING
from nbtrack.core.run import ActiveRun
from nbtrack.core.values import flatten, number, numbers, plain

__all__ = ["TrainingRun", "flatten", "guarded", "number", "numbers", "plain", "report"]

Method = TypeVar("Method", bound=Callable[..., Any])
_reported: set[str] = set()


def report(where: str, exc: BaseException) -> None:
    """An integration's own failure, said once per place: it never stops the training."""
    if where not in _reported:
        _reported.add(where)
        warnings.warn(f"nbtrack: {where} failed and stops recording this training: {exc!r}", RuntimeWarning,
                      stacklevel=3)


def guarded(method: Method) -> Method:
    """A callback method whose failure is nbtrack's, not the training's: reported once, then
    this callback records nothing more (methods that hand the framework's object back, as
    XGBoost's do, still hand it back)."""

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        handed = args[0] if method.__name__ in HANDS_BACK and args else None
        if getattr(self, "_nbtrack_failed", False):
            return handed
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self._nbtrack_failed = True
            report(f"{type(self).__module__}.{type(self).__name__}.{method.__name__}", exc)
            return handed

    return call  # type: ignore[return-value]


HANDS_BACK = ("before_training", "after_training")  # xgboost's: the booster goes back to the trainer


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
