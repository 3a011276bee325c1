"""The notebook a replay executes, rebuilt from a run's snapshot and cell records.

* ``notebook`` order: the snapshot's cells top to bottom.
* ``executed`` order: one code cell per execution in the original session, in the order they ran,
  each with the source it had when it ran (re-runs and out-of-order runs included). Cells that
  ran before tracking began are known only from the snapshot: they come first, ordered by their
  execution count.

Every cell keeps a link to the original execution it replays (``Original``), which the report
compares with. Parameters are injected the papermill way: a cell tagged ``injected-parameters``
after the cell tagged ``parameters`` (after each of its executions in executed order). Without
such a cell, after the first cell that assigns one of the parameters at top level, else at the
top. A notebook that never starts tracking (``%nbtrack start`` / ``nbtrack.start(``) is wrapped
in a tracking cell at the top and a stop cell at the end, so the replay is tracked too.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbformat import NotebookNode

from nbtrack.capture.params import INJECTED_TAG, PARAMETERS_TAG

NOTEBOOK, EXECUTED = "notebook", "executed"
ORDERS = (NOTEBOOK, EXECUTED)
RAISES_TAG = "raises-exception"
REPLAY_TAG = "nbtrack-replay"  # cells the replay added (tracking wrapper): not compared
_TRACKING_LINE = re.compile(
    r"^\s*(?:%(?:re)?load_ext\s+nbtrack|%nbtrack\b.*|import nbtrack|nbtrack\.(?:start|finish)\(.*\))\s*$"
)
_STARTS_TRACKING = re.compile(r"^\s*%nbtrack\s+start\b|\bnbtrack\.start\s*\(", re.MULTILINE)

OutputLoader = Callable[[str], list[dict[str, Any]]]


@dataclass
class Original:
    """The original execution a replayed cell is compared with."""

    source: str
    outputs: list[dict[str, Any]] | None  # None: the cell did not run in the original
    execution_count: int | None = None
    cell_id: str | None = None
    rng: str | None = None  # blob of the random state before it ran (``capture.rng``)


@dataclass
class BuiltNotebook:
    nb: NotebookNode
    origins: list[Original | None]  # one per cell of `nb`; None: nothing to compare with
    notes: list[str] = field(default_factory=list)


def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _has_error(outputs: Sequence[Mapping[str, Any]] | None) -> bool:
    return any(o.get("output_type") == "error" for o in outputs or ())


def _fresh_cell(template: Mapping[str, Any] | None, source: str, cell_id: str | None) -> NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if template is not None:
        cell.metadata = copy.deepcopy(dict(template.get("metadata", {})))
    if cell_id:
        cell.id = cell_id
    return cell


def _unique_ids(cells: list[NotebookNode]) -> None:
    seen: dict[str, int] = {}
    for cell in cells:
        base = str(cell.get("id") or "cell")[:56]
        n = seen.get(base, 0)
        seen[base] = n + 1
        cell.id = base if n == 0 else f"{base}-r{n}"


def notebook_order(snapshot: NotebookNode, records: Sequence[Mapping[str, Any]], load: OutputLoader) -> BuiltNotebook:
    """The snapshot top to bottom; each cell compared with its outputs in the snapshot (or with
    its last recorded execution when the snapshot shows it unexecuted)."""
    last_by_id = {r["cell_id"]: r for r in records if r.get("cell_id")}
    by_source: dict[str, list[Mapping[str, Any]]] = {}
    for r in sorted((r for r in records if r.get("t", "cell") == "cell"), key=lambda r: r.get("seq", 0)):
        by_source.setdefault(str(r.get("source") or ""), []).append(r)
    occurrences: dict[str, int] = {}
    nb = copy.deepcopy(snapshot)
    origins: list[Original | None] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            origins.append(None)
            continue
        same = by_source.get(cell.source) or []
        nth = occurrences[cell.source] = occurrences.get(cell.source, -1) + 1
        ran_as = last_by_id.get(cell.get("id")) or (same[nth] if len(same) > nth else same[-1] if same else None)
        outputs: list[dict[str, Any]] | None = list(cell.get("outputs") or [])
        count = cell.get("execution_count")
        record = last_by_id.get(cell.get("id"))
        if count is None and record is not None and record.get("source") == cell.source:
            outputs, count = _record_outputs(record, load), record.get("execution_count")
        elif (count is None and not outputs) or _was_running(cell):
            outputs = None  # it did not run, or had not finished when the run did: nothing to compare
        rng = ran_as.get("rng") if ran_as is not None and ran_as.get("source") == cell.source else None
        origins.append(Original(cell.source, outputs, count, cell.get("id"), rng))
    return BuiltNotebook(nb, origins)


def _was_running(cell: Mapping[str, Any]) -> bool:
    """The cell was still running when the snapshot was taken (it finished the run itself)."""
    return bool((cell.get("metadata", {}).get("nbtrack") or {}).get("running"))


def _record_outputs(record: Mapping[str, Any], load: OutputLoader) -> list[dict[str, Any]]:
    sha = record.get("outputs")
    return list(load(sha)) if sha else []


def executed_order(snapshot: NotebookNode, records: Sequence[Mapping[str, Any]], load: OutputLoader) -> BuiltNotebook:
    """One cell per execution, in the order the original session ran them."""
    executions = sorted((r for r in records if r.get("t", "cell") == "cell"), key=lambda r: r.get("seq", 0))
    by_id = {c.get("id"): c for c in snapshot.cells if c.get("id")}
    by_source = {c.source: c for c in snapshot.cells if c.cell_type == "code"}
    counts = [r["execution_count"] for r in executions if isinstance(r.get("execution_count"), int)]
    first_tracked = min(counts) if counts else None
    earlier = sorted(
        (c for c in snapshot.cells if c.cell_type == "code" and isinstance(c.get("execution_count"), int)
         and (first_tracked is None or c.execution_count < first_tracked)),
        key=lambda c: c.execution_count,
    )
    cells: list[NotebookNode] = []
    origins: list[Original | None] = []
    for cell in earlier:
        cells.append(_fresh_cell(cell, cell.source, cell.get("id")))
        origins.append(Original(cell.source, list(cell.get("outputs") or []), cell.execution_count, cell.get("id")))
    for record in executions:
        source = str(record.get("source") or "")
        template = by_id.get(record.get("cell_id")) or by_source.get(source)
        cells.append(_fresh_cell(template, source, record.get("cell_id") or (template or {}).get("id")))
        outputs = _record_outputs(record, load)
        origins.append(Original(source, outputs, record.get("execution_count"), record.get("cell_id"),
                                record.get("rng")))
    _unique_ids(cells)
    nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(dict(snapshot.metadata)))
    nb.cells = cells
    notes = (
        []
        if not earlier
        else [f"{len(earlier)} cells ran before tracking began; they replay first, in execution-count order"]
    )
    return BuiltNotebook(nb, origins, notes)


def is_tracking_cell(source: str) -> bool:
    """A cell that only loads nbtrack or starts/stops tracking: its output is about tracking
    (run ids, a stop line only the replay has), not a result to compare."""
    lines = [line for line in source.splitlines() if line.strip()]
    return bool(lines) and all(_TRACKING_LINE.match(line) for line in lines)


def _skip_tracking_cells(built: BuiltNotebook) -> None:
    for index, cell in enumerate(built.nb.cells):
        if cell.cell_type == "code" and is_tracking_cell(cell.source):
            built.origins[index] = None


def _allow_original_errors(built: BuiltNotebook) -> None:
    """Cells that failed in the original may fail again without stopping the replay."""
    for cell, origin in zip(built.nb.cells, built.origins):
        if cell.cell_type == "code" and origin is not None and _has_error(origin.outputs):
            tags = _tags(cell)
            if RAISES_TAG not in tags:
                cell.metadata["tags"] = [*tags, RAISES_TAG]


def _top_level_names(source: str) -> set[str]:
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Name):
                    names.add(leaf.id)
    return names


def _anchors(cells: Sequence[NotebookNode], order: str, names: set[str]) -> tuple[list[int], str]:
    """Indices after which parameters go, and a note saying where that is."""
    for tag in (INJECTED_TAG, PARAMETERS_TAG):
        found = [i for i, c in enumerate(cells) if tag in _tags(c)]
        if found:
            return (found if order == EXECUTED else found[:1]), ""
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and _top_level_names(cell.source) & names:
            same = [j for j, c in enumerate(cells) if c.source == cell.source] if order == EXECUTED else [i]
            return same, f"no cell is tagged 'parameters': parameters injected after cell {i + 1}, which assigns them"
    return [], "no cell is tagged 'parameters' or assigns the parameters: they are injected at the top"


def parameters_source(parameters: Mapping[str, Any], kernel_name: str | None, language: str | None) -> str:
    """Assignments for `parameters` in the notebook's language, as papermill writes them."""
    from papermill.translators import translate_parameters

    return translate_parameters(
        kernel_name or "python3", language or "python", dict(parameters), "Parameters (nbtrack replay)"
    )


def inject_parameters(built: BuiltNotebook, parameters: Mapping[str, Any], order: str) -> None:
    if not parameters:
        return
    nb = built.nb
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    language = nb.metadata.get("kernelspec", {}).get("language") or nb.metadata.get("language_info", {}).get("name")
    source = parameters_source(parameters, kernel, language)
    anchors, note = _anchors(nb.cells, order, set(parameters))
    if note:
        built.notes.append(note)
    positions = [a + 1 for a in anchors] or [0]
    for offset, position in enumerate(positions):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = [INJECTED_TAG]
        nb.cells.insert(position + offset, cell)
        built.origins.insert(position + offset, None)
    nb.metadata.setdefault("papermill", {})["parameters"] = dict(parameters)
    _unique_ids(nb.cells)


def starts_tracking(nb: NotebookNode) -> bool:
    return any(c.cell_type == "code" and _STARTS_TRACKING.search(c.source) for c in nb.cells)


def wrap_in_tracking(built: BuiltNotebook, name: str) -> bool:
    """Add a start cell at the top and a stop cell at the end when the notebook never starts a
    run itself; returns whether it did."""
    if starts_tracking(built.nb):
        return False
    title = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    start = nbformat.v4.new_code_cell(f'%load_ext nbtrack\n%nbtrack start "{title}"')
    stop = nbformat.v4.new_code_cell("%nbtrack stop")
    for cell in (start, stop):
        cell.metadata["tags"] = [REPLAY_TAG]
    built.nb.cells.insert(0, start)
    built.origins.insert(0, None)
    built.nb.cells.append(stop)
    built.origins.append(None)
    built.notes.append(
        "the notebook never starts tracking: the replay added a start cell at the top and a stop cell at the end"
    )
    _unique_ids(built.nb.cells)
    return True


RESTORE_SOURCE = '__import__("nbtrack.replay.restore").replay.restore.install(get_ipython())'


def add_rng_restore(built: BuiltNotebook) -> None:
    """A first cell that restores the original's random state before each cell
    (``nbtrack.replay.restore``; its states come from ``$NBTRACK_REPLAY_RNG``)."""
    cell = nbformat.v4.new_code_cell(RESTORE_SOURCE)
    cell.metadata["tags"] = [REPLAY_TAG]
    built.nb.cells.insert(0, cell)
    built.origins.insert(0, None)
    _unique_ids(built.nb.cells)


def rng_states(built: BuiltNotebook, load: Callable[[str], Any]) -> dict[str, Any]:
    """The random state to restore before each replayed cell, by ``capture.rng.rng_key``."""
    from nbtrack.capture.rng import rng_key

    seen: dict[str, int] = {}
    states: dict[str, Any] = {}
    for cell, origin in zip(built.nb.cells, built.origins):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        occurrence = seen[cell.source] = seen.get(cell.source, -1) + 1
        if origin is not None and origin.rng:
            try:
                states[rng_key(cell.source, occurrence)] = load(origin.rng)
            except (KeyError, ValueError, OSError):
                continue
    return states


def build(
    snapshot: NotebookNode,
    records: Sequence[Mapping[str, Any]],
    load: OutputLoader,
    *,
    order: str = NOTEBOOK,
    parameters: Mapping[str, Any] | None = None,
    run_name: str = "replay",
) -> BuiltNotebook:
    """The notebook to execute for a replay, with each cell's original (see the module doc)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if order == EXECUTED and not records:
        raise ValueError("this run recorded no cell executions: replay it with order 'notebook'")
    built = (executed_order if order == EXECUTED else notebook_order)(snapshot, records, load)
    _allow_original_errors(built)
    _skip_tracking_cells(built)
    for cell in built.nb.cells:  # a replay starts from clean cells; the report keeps the originals
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    inject_parameters(built, parameters or {}, order)
    wrap_in_tracking(built, run_name)
    return built
