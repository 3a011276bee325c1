"""Assembling a replay's reproducibility report from the two runs, storing it and printing it.

The comparisons themselves are pure (``nbtrack.core.reproduce``); this module gathers their
inputs: the executed notebook against each cell's original, the runs' final metric values,
their environments and their data fingerprints.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from nbtrack.core import records
from nbtrack.core.fingerprint import HashCache, fingerprint
from nbtrack.core.reproduce import (
    DIFFERENT,
    IDENTICAL,
    NO_ORIGINAL,
    NOT_RUN,
    WITHIN,
    CellComparison,
    Report,
    compare_outputs,
    compare_packages,
)
from nbtrack.core.state import RunState
from nbtrack.core.text import printable
from nbtrack.replay.build import BuiltNotebook
from nbtrack.replay.data import version_of
from nbtrack.store.store import Store

SOURCE_CHARS = 300


def compare_cells(
    built: BuiltNotebook, executed: NotebookNode, failed_cell: int | None, tolerance: float
) -> list[CellComparison]:
    """Every replayed code cell against the original execution it replays."""
    rows: list[CellComparison] = []
    for index, (cell, origin) in enumerate(zip(built.nb.cells, built.origins)):
        differences: list[str]
        if origin is None or cell.cell_type != "code" or not cell.source.strip():
            continue
        source = cell.source[:SOURCE_CHARS]
        done = executed.cells[index] if index < len(executed.cells) else None
        ran = done is not None and (done.get("execution_count") is not None or failed_cell == index)
        if done is None or (failed_cell is not None and index > failed_cell) or not ran:
            status, differences = NOT_RUN, []
        elif origin.outputs is None:
            status, differences = NO_ORIGINAL, []
        else:
            status, differences = compare_outputs(origin.outputs, done.get("outputs") or [], tolerance)
        rows.append(CellComparison(index, source, status, differences, origin.cell_id, origin.execution_count))
    return rows


def final_metrics(state: RunState | None) -> dict[str, float]:
    return {} if state is None else {key: summary.last for key, summary in state.metrics.items()}


def environment_differences(original: Mapping[str, Any] | None, replayed: Mapping[str, Any] | None,
                            current_packages: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Python and package versions that differ (the replay's recorded environment, else what is
    installed for the replay kernel)."""
    if not original:
        return [{"package": "*", "original": None, "replay": None, "kind": "unknown",
                 "note": "the original run recorded no environment"}]
    rows = []
    version_a = (original.get("python") or {}).get("version")
    version_b = ((replayed or {}).get("python") or {}).get("version")
    if version_a and version_b and version_a != version_b:
        rows.append({"package": "python", "original": version_a, "replay": version_b, "kind": "changed"})
    packages_b = (replayed or {}).get("packages") if replayed else current_packages
    if packages_b is not None:
        rows += compare_packages(original.get("packages") or {}, packages_b)
    return rows


def _candidates(path: str, original_cwd: str, cwd: Path) -> list[Path]:
    recorded = Path(path)
    found = [recorded]
    if original_cwd and path.startswith(original_cwd.rstrip("/") + "/"):
        found.append(cwd / recorded.relative_to(original_cwd))
    return found


def fingerprint_now(path: str, original_cwd: str, cwd: Path, cache: HashCache | None) -> dict[str, Any] | None:
    """The current fingerprint of a recorded data path (also looked for under the replay's folder)."""
    for candidate in _candidates(path, original_cwd, cwd):
        if candidate.exists():
            try:
                return fingerprint(candidate, cache).as_record()
            except OSError:
                return None
    return None


def data_checks(original: RunState, replay: RunState | None, before: Mapping[str, dict[str, Any] | None],
                after: Mapping[str, dict[str, Any] | None],
                used: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Each dataset the original tracked: its fingerprint then, before and after the replay, and
    what the replay tracked in its place (paired by path, else in tracking order); `used` says
    what the replay read for each path (``--data recorded``), else it read the current data."""
    replayed = list(replay.data) if replay else []
    by_path = {d["path"]: d for d in replayed}
    unpaired = [d for d in replayed if d["path"] not in {o["path"] for o in original.data}]
    rows = []
    for item in original.data:
        path = item["path"]
        twin = by_path.get(path) or (unpaired.pop(0) if unpaired else None)
        now, later = before.get(path), after.get(path)
        if twin is not None:
            status = "same" if twin["sha256"] == item["sha256"] else "different"
        elif now is None:
            status = "missing"
        else:
            status = "same (not tracked by the replay)" if now["sha256"] == item["sha256"] else "different"
        row = {"path": path, "status": status, "original": item["sha256"],
               "before": now and now["sha256"], "after": later and later["sha256"],
               "replay_path": twin and twin["path"], "replay": twin and twin["sha256"],
               "version": version_of(item), "used": (used or {}).get(path, "current")}
        if now and later and now["sha256"] != later["sha256"]:
            row["note"] = "the data changed during the replay"
        rows.append(row)
    rows += [{"path": d["path"], "status": "only in the replay", "original": None, "before": None, "after": None,
              "replay_path": d["path"], "replay": d["sha256"]} for d in unpaired]
    return rows


def store_report(store: Store, run_id: str, report: Report) -> str:
    """The report as a blob, and a ``report`` annotation on the replay run pointing at it."""
    sha = store.put_json(report.to_dict())
    store.annotate(run_id, records.report(sha, report.verdict))
    return sha


def _value(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.10g}"
    return "-" if value is None else str(value)


def render(report: Report, notes: Sequence[str] = ()) -> list[str]:
    """The report as terminal lines (user text escaped, never interpreted)."""
    lines = [f"replay {report.replay or '(no run)'} of {report.original}  (order {report.order}, "
             f"relative tolerance {report.tolerance:g})"]
    lines += [f"note: {printable(n)}" for n in notes]
    if report.parameters:
        lines.append("parameters: " + ", ".join(f"{printable(k)}={printable(json.dumps(v, default=str))}"
                                                for k, v in report.parameters.items()))
    if report.error:
        lines.append(f"error: {printable(report.error, keep_newlines=True)}")
    counts = {
        s: sum(1 for c in report.cells if c.status == s) for s in (IDENTICAL, WITHIN, DIFFERENT, NOT_RUN, NO_ORIGINAL)
    }
    lines.append(
        "cells: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n) if report.cells else "cells: none compared"
    )
    lines.append(f"random state: {report.rng}" + (f", PYTHONHASHSEED={report.hash_seed}" if report.hash_seed else "")
                 + (", replayed twice (determinism check)" if report.determinism_checked else ""))
    for cell in report.cells:
        variables = sorted({v for v in cell.secrets if v})
        if cell.secrets and cell.status in (IDENTICAL, WITHIN):
            lines.append(f"  cell {cell.index + 1}: a secret was removed from its source"
                         + (f" (supplied by ${', $'.join(variables)})" if variables else ""))
        if cell.status in (IDENTICAL, NO_ORIGINAL):
            continue
        first = printable(cell.source.strip().splitlines()[0] if cell.source.strip() else "")[:70]
        count = f" [In {cell.execution_count}]" if cell.execution_count is not None else ""
        lines.append(f"  cell {cell.index + 1}{count} {cell.status}: {first}")
        if cell.cause:
            lines.append(f"      cause: {cell.cause} ({printable(cell.cause_detail or '')})")
        if cell.nondeterministic:
            lines.append("      differed between two replays")
        for difference in cell.differences[:3]:
            lines += ["      " + printable(line) for line in difference.splitlines()]
    if report.metrics:
        width = max(len(m["key"]) for m in report.metrics)
        lines.append("metrics (final values):")
        lines.append(f"  {'':{width}}  {'original':>14}  {'replay':>14}")
        lines += [
            f"  {printable(m['key']):{width}}  {_value(m['original']):>14}  {_value(m['replay']):>14}  {m['status']}"
            + (f"  cause: {m['cause']} ({printable(m.get('cause_detail') or '')})" if m.get("cause") else "")
            for m in report.metrics
        ]
    if report.environment:
        lines.append(f"environment: {len(report.environment)} differences")
        lines += [f"  {printable(e['package'])}: {_value(e['original'])} -> {_value(e['replay'])}"
                  + (f" ({e['note']})" if e.get("note") else "") for e in report.environment[:50]]
        if len(report.environment) > 50:
            lines.append(f"  ... and {len(report.environment) - 50} more")
    else:
        lines.append("environment: same packages")
    for item in report.data:
        where = (
            f" (replay used {printable(item['replay_path'])})"
            if item.get("replay_path") not in (None, item["path"])
            else ""
        )
        version = f" [{printable(item['version'])}]" if item.get("version") else ""
        lines.append(
            f"data {printable(item['path'])}{version}: {item['status']}{where}"
            + (f"; {item['note']}" if item.get("note") else "")
        )
        if item.get("used"):
            read = printable(item["used"])
            lines.append(f"  read: {read}" + ("; --data recorded replays on the stored version"
                                              if read == "current" and item.get("version") and
                                              item["status"] == "different" else ""))
    causes = report.causes()
    if causes:
        lines.append("causes: " + ", ".join(f"{n} {cause}" for cause, n in sorted(causes.items(), key=lambda x: -x[1])))
    lines.append(f"verdict: {report.verdict}")
    return [printable(line, keep_newlines=True) for line in lines]  # (package versions, notes: recorded text)


def output_path_for(notebook: str | None, original_id: str, folder: Path) -> Path:
    stem = Path(notebook).stem if notebook else "notebook"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return folder / f"{stem}.replay-{original_id[:10]}-{stamp}.ipynb"
