"""What every integration shares: the run a training writes to, and framework values made plain."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from nbtrack.core.records import FAILED, FINISHED, RUNNING
from nbtrack.core.run import ActiveRun


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


def number(value: Any) -> float | None:
    """`value` as a float when it is one number (int, float, numpy or torch scalar), else None."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        return float(value) if isinstance(value, bool) else None
    try:
        if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
            value = value.item()
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def numbers(values: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    out = {}
    for key, value in values.items():
        as_float = number(value)
        if as_float is not None:
            out[f"{prefix}{key}"] = as_float
    return out


def plain(value: Any) -> Any:
    """A parameter as a JSON value: numbers and text as they are, numpy/torch scalars as numbers,
    containers of those as lists and dicts, anything else as its text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    as_float = number(value)
    if as_float is not None:
        return int(as_float) if as_float.is_integer() and "int" in type(value).__name__.lower() else as_float
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def flatten(values: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """Nested dicts as one level: ``{"optimizer": {"lr": 0.1}}`` -> ``{"optimizer.lr": 0.1}``."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}{sep}", sep))
        else:
            flat[name] = plain(value)
    return flat
