"""Which data a replay reads: the data on disk now (``current``), or the versions the original
run stored (``recorded``), written out again and handed to the notebook.

With ``recorded``, each data version the run tracked (``track_data(..., keep=True)``) is written
out beside the executed notebook (``<notebook>.data/``) and the notebook is pointed at it:

* through the parameter that held its path (a parameter whose value, read from the original's
  working folder, is the tracked path): the parameter is set to the written copy; else
* at the same relative path in a fresh working folder (when the data lay under the original's
  working folder); every other entry of the working folder is linked into it, so the
  notebook's other files are still found, and nothing in the user's folder is overwritten.

Data only fingerprinted (``keep=False``) or read from elsewhere cannot be restored: the replay
uses what is on disk, and says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.api import Run
from nbtrack.store import content

CURRENT, RECORDED = "current", "recorded"
MODES = (CURRENT, RECORDED)


@dataclass
class DataPlan:
    parameters: dict[str, Any] = field(default_factory=dict)  # parameters pointed at written data
    cwd: Path | None = None  # a fresh working folder, when data was placed at relative paths
    used: dict[str, str] = field(default_factory=dict)  # original path -> what the replay read
    notes: list[str] = field(default_factory=list)


def version_of(item: Mapping[str, Any]) -> str | None:
    return f"{item['name']}@{item['version']}" if item.get("name") and item.get("version") else None


def _parameter_for(path: str, params: Mapping[str, Any], original_cwd: str) -> str | None:
    for key, value in params.items():
        if isinstance(value, str) and value.strip():
            candidate = Path(value).expanduser()
            if not candidate.is_absolute() and original_cwd:
                candidate = Path(original_cwd) / candidate
            if os.path.normpath(candidate) == os.path.normpath(path) or os.path.realpath(candidate) == path:
                return key
    return None


def _overlay(source: Path, fresh: Path, placed: list[tuple[str, ...]]) -> None:
    """Link every entry of `source` into `fresh`, except the `placed` relative paths (written
    there already) and the folders leading to them (made real, and overlaid in turn)."""
    fresh.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return
    for entry in sorted(os.listdir(source)):
        inner = [p[1:] for p in placed if p[0] == entry]
        if () in inner:
            continue
        if inner:
            _overlay(source / entry, fresh / entry, inner)
        elif not (fresh / entry).exists():
            os.symlink(source / entry, fresh / entry)


def recorded_data(original: Run, folder: Path, parameters: Mapping[str, Any], work: Path) -> DataPlan:
    """Write the run's stored data versions under `work` and plan how the notebook finds them
    (see the module docstring); `folder` is the working folder the replay would use, and
    `parameters` the user's own overrides (a parameter the user set is left alone)."""
    plan = DataPlan()
    state = original.state
    placed: list[tuple[str, ...]] = []
    for item in original.data:
        path, ref = item["path"], version_of(item)
        if not item.get("content") or ref is None:
            plan.notes.append(f"data {path} was only fingerprinted (keep=False): the replay reads the current data")
            plan.used[path] = "current (no stored version)"
            continue
        manifest = content.load_manifest(original.store, item["content"])
        key = _parameter_for(path, state.params, state.cwd)
        if key is not None and key not in parameters:
            copy = work / ref / Path(path).name
            content.materialise(original.store, manifest, copy)
            plan.parameters[key] = str(copy)
            plan.used[path] = f"{ref} at {copy} (parameter {key})"
        elif state.cwd and Path(path).is_relative_to(state.cwd) and ".." not in Path(path).parts:
            relative = Path(path).relative_to(state.cwd)
            content.materialise(original.store, manifest, work / "cwd" / relative)
            placed.append(relative.parts)
            plan.used[path] = f"{ref} at {relative} in the replay's working folder"
        else:
            plan.notes.append(f"data {path} ({ref}) was read neither through a parameter nor under the working "
                              "folder: the replay reads the current data there")
            plan.used[path] = "current (could not be mapped)"
    if placed:
        plan.cwd = work / "cwd"
        _overlay(folder, plan.cwd, placed)
    return plan
