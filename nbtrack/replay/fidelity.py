"""What makes a replay faithful, and what explains it when it is not.

Before execution (`prepare`): the original's random state is restored before each cell (a first
cell installs ``nbtrack.replay.restore``; ``rng="fresh"`` skips it), the kernel gets the
original's ``PYTHONHASHSEED`` when it was known, else a fixed one (recorded in the report), and
secrets redacted from the stored sources are put back from environment variables when set
(``nbtrack.replay.secrets``). After execution (`attribute`): every differing cell and metric
gets a cause (``nbtrack.core.causes``), using a second replay when one ran (`compare_runs`).
"""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode

from nbtrack.capture.params import INJECTED_TAG
from nbtrack.capture.rng import ENV_STATES
from nbtrack.core.causes import CellEvidence, cell_cause, metric_cause
from nbtrack.core.nbjson import multiline
from nbtrack.core.reproduce import DIFFERENT, Report, compare_outputs
from nbtrack.replay.build import BuiltNotebook, add_rng_restore, rng_states
from nbtrack.replay.secrets import Slot, supply

RESTORED, FRESH = "restored", "fresh"
RNG_MODES = (RESTORED, FRESH)
FIXED_HASH_SEED = "0"


@dataclass
class Preparation:
    env: dict[str, str]  # for the replay kernel
    hash_seed: str
    hash_seed_known: bool = True  # the original's seed was a fixed number
    states_file: str | None = None
    restored: set[int] = field(default_factory=set)  # indices of cells whose random state is restored
    secrets: dict[int, list[Slot]] = field(default_factory=dict)

    def cleanup(self) -> None:
        if self.states_file:
            try:
                os.unlink(self.states_file)
            except OSError:
                pass


def with_hash_seed(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a kernel about to start, with a ``PYTHONHASHSEED`` drawn for that kernel unless
    `env` names one: as random as Python's own from one kernel to the next, but the run records it
    (its header's ``hash_seed``), so a replay can set the same one and sets and dicts of strings
    come out in the same order."""
    if env.get("PYTHONHASHSEED"):
        return dict(env)
    return {**env, "PYTHONHASHSEED": str(random.SystemRandom().randrange(1, 2**32))}


def hash_seed_of(header: Mapping[str, Any]) -> str:
    """The original kernel's PYTHONHASHSEED when it was a fixed number, else a fixed one."""
    seed = str(header.get("hash_seed") or "")
    return seed if seed.isdigit() else FIXED_HASH_SEED


def prepare(built: BuiltNotebook, header: Mapping[str, Any], load_json: Any, rng: str,
            environ: Mapping[str, str]) -> Preparation:
    """Set up `built` (in place) and the kernel environment for a faithful replay."""
    if rng not in RNG_MODES:
        raise ValueError(f"rng must be one of {', '.join(RNG_MODES)}, not {rng!r}")
    seed = hash_seed_of(header)
    prepared = Preparation({"PYTHONHASHSEED": seed}, seed, str(header.get("hash_seed") or "").isdigit())
    if rng == RESTORED and any(o is not None and o.rng for o in built.origins):
        add_rng_restore(built)
    for index, cell in enumerate(built.nb.cells):
        if cell.cell_type == "code":
            cell.source, slots = supply(cell.source, environ)
            if slots:
                prepared.secrets[index] = slots
    if rng == RESTORED:
        states = rng_states(built, load_json)
        if states:
            handle, path = tempfile.mkstemp(prefix="nbtrack-rng-", suffix=".json")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"cells": states}, out)
            prepared.states_file, prepared.env[ENV_STATES] = path, path
            prepared.restored = {i for i, o in enumerate(built.origins) if o is not None and o.rng}
    return prepared


def compare_runs(first: NotebookNode, second: NotebookNode, tolerance: float) -> dict[int, bool]:
    """Index -> whether the cell's outputs differ between two executions of one notebook."""
    found = {}
    for index, (a, b) in enumerate(zip(first.cells, second.cells)):
        if a.cell_type == "code" and a.get("execution_count") is not None and b.get("execution_count") is not None:
            found[index] = compare_outputs(a.get("outputs") or [], b.get("outputs") or [], tolerance)[0] == DIFFERENT
    return found


def _out_of_order(built: BuiltNotebook, order: str) -> set[int]:
    """Cells at or after a point where the original's execution counts went backwards (notebook
    order only: an executed-order replay runs what ran, as it ran)."""
    if order != "notebook":
        return set()
    flagged, highest, broken = set(), 0, False
    for index, origin in enumerate(built.origins):
        count = origin.execution_count if origin is not None else None
        if isinstance(count, int):
            broken = broken or count < highest
            highest = max(highest, count)
        if broken:
            flagged.add(index)
    return flagged


def _distributions() -> Mapping[str, Sequence[str]]:
    try:
        from importlib.metadata import packages_distributions

        return packages_distributions()
    except Exception:
        return {}


def attribute(report: Report, built: BuiltNotebook, prepared: Preparation,
              second: dict[int, bool] | None = None, metrics_nondeterministic: set[str] | None = None) -> None:
    """Give each differing cell and metric of `report` its cause (in place)."""
    out_of_order = _out_of_order(built, report.order)
    injected = [i for i, c in enumerate(built.nb.cells) if INJECTED_TAG in c.get("metadata", {}).get("tags", [])]
    overrides = ", ".join(f"{k}={v!r}" for k, v in report.parameters.items())
    distributions: Mapping[str, Sequence[str]] | None = None
    sources = [c.source if c.cell_type == "code" else "" for c in built.nb.cells]
    for cell in report.cells:
        slots = prepared.secrets.get(cell.index, [])
        cell.secrets = [s.variable for s in slots]
        # a secret removed earlier reaches this cell through its name (`api_key` used here)
        words = set(re.findall(r"\w+", sources[cell.index]))
        slots = slots + [s for i, earlier in prepared.secrets.items() if i < cell.index for s in earlier
                         if not s.supplied and s.name and s.name.rsplit(".", 1)[-1] in words]
        if second is not None and cell.index in second:
            cell.nondeterministic = second[cell.index]
        if cell.status != DIFFERENT:
            continue
        if distributions is None:
            distributions = _distributions()
        origin = built.origins[cell.index]
        evidence = CellEvidence(
            source=sources[cell.index], earlier="\n".join(sources[:cell.index]),
            original_text=json.dumps([multiline(o.get("text", "")) + json.dumps(o.get("data", {}))
                                      for o in (origin.outputs or [])]) if origin is not None else "",
            secrets=[s.variable for s in slots], secrets_supplied=bool(slots) and all(s.supplied for s in slots),
            out_of_order=cell.index in out_of_order, nondeterministic=cell.nondeterministic,
            parameters=overrides if injected and cell.index > injected[0] else "",
            rng_restored=cell.index in prepared.restored, hash_seed_known=prepared.hash_seed_known)
        cell.cause, cell.cause_detail = cell_cause(evidence, cell.differences, report.data, report.environment,
                                                   distributions)
    for row in report.metrics:
        if row["status"] == DIFFERENT:
            checked = None if metrics_nondeterministic is None else row["key"] in metrics_nondeterministic
            row["cause"], row["cause_detail"] = metric_cause(row, report.cells, checked, report.data)
