"""Reproducibility analysis of the cells a run executed: what breaks a top-to-bottom re-run.

Pure functions over the execution history (no IPython). A cell is identified by its frontend
cell id when there is one, else by its source. Names each execution defines and uses come from
its (IPython-transformed) source through ``ast``; this is a static approximation (no tracing).

Warning kinds:

- ``out_of_order``: a cell ran after a cell placed below it in the notebook;
- ``stale_dependency``: a cell was re-run (or edited and re-run) after later cells used what it
  defined, and those cells were not re-run since;
- ``edited_after_run``: a cell's source changed after it ran (it ran with several sources, or
  the notebook, saved after the cell ran, holds another source);
- ``unsaved_edit``: a cell ran with a source the saved notebook does not hold (edited, run, not
  saved); the run records the source that ran;
- ``deleted_cell``: a cell that ran is no longer in the notebook;
- ``pre_start_state``: cells of the run used names defined before ``%nbtrack start``.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

IGNORED_NAMES = frozenset(dir(builtins)) | {
    "get_ipython", "In", "Out", "_", "__", "___", "_i", "_ii", "_iii", "_oh", "_ih", "_dh",
    "exit", "quit", "display", "__name__", "__file__", "__builtins__",
}
MAX_PER_KIND = 20


@dataclass(frozen=True)
class Execution:
    seq: int
    key: str  # cell identity: the frontend cell id, else "src:" + hash of the source
    label: str  # how messages name the cell
    cell_id: str | None
    source: str
    defines: frozenset[str]
    uses: frozenset[str]
    started: float | None = None


def cell_key(cell_id: str | None, source: str) -> str:
    return cell_id if cell_id else "src:" + hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def cell_label(cell_id: str | None, execution_count: int | None, seq: int) -> str:
    return cell_id or (f"[{execution_count}]" if execution_count is not None else f"#{seq}")


def make_execution(seq: int, cell_id: str | None, source: str, execution_count: int | None,
                   code: str | None = None, started: float | None = None) -> Execution:
    """An execution with its names analysed from `code` (the transformed source), else `source`."""
    defines, uses = names_of(code if code is not None else source)
    return Execution(seq, cell_key(cell_id, source), cell_label(cell_id, execution_count, seq), cell_id, source,
                     defines, uses, started)


class _Names(ast.NodeVisitor):
    def __init__(self) -> None:
        self.defines: set[str] = set()
        self.uses: set[str] = set()
        self.scopes: list[set[str]] = []

    def _define(self, name: str) -> None:
        (self.scopes[-1] if self.scopes else self.defines).add(name)

    def _use(self, name: str) -> None:
        if not any(name in scope for scope in self.scopes) and name not in self.defines:
            self.uses.add(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._use(node.id)
        else:
            self._define(node.id)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._use(node.target.id)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self._define(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        if not isinstance(node, ast.Lambda):
            self._define(node.name)
            for decorator in node.decorator_list:
                self.visit(decorator)
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, [args.vararg, args.kwarg])]
        self.scopes.append({a.arg for a in params})
        for statement in node.body if isinstance(node.body, list) else [node.body]:
            self.visit(statement)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.bases, *node.decorator_list]:
            self.visit(expr)
        self._define(node.name)
        self.scopes.append(set())
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    def _comprehension(self, node: Any) -> None:
        self.scopes.append(set())
        for generator in node.generators:
            self.visit(generator.iter)
            self.visit(generator.target)
            for condition in generator.ifs:
                self.visit(condition)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                self.visit(getattr(node, part))
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension


def names_of(code: str) -> tuple[frozenset[str], frozenset[str]]:
    """(names a cell defines at top level, global names it reads); empty when it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return frozenset(), frozenset()
    visitor = _Names()
    visitor.visit(tree)
    return frozenset(visitor.defines), frozenset(visitor.uses - IGNORED_NAMES)


def _warning(kind: str, message: str, cells: Sequence[str]) -> dict[str, Any]:
    return {"kind": kind, "message": message, "cells": list(cells)}


def _names(names: Iterable[str], limit: int = 6) -> str:
    ordered = sorted(names)
    return ", ".join(ordered[:limit]) + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")


def out_of_order(executions: Sequence[Execution], positions: dict[str, int]) -> list[dict[str, Any]]:
    """Each time a cell ran after a cell placed below it (positions: cell key -> index)."""
    found: list[dict[str, Any]] = []
    previous: Execution | None = None
    for ex in executions:
        position = positions.get(ex.key)
        if position is None:
            continue
        if previous is not None and position < positions[previous.key] and len(found) < MAX_PER_KIND:
            found.append(_warning(
                "out_of_order",
                f"cell {ex.label} (position {position + 1}) ran after cell {previous.label} "
                f"(position {positions[previous.key] + 1}), which is below it in the notebook",
                [ex.label, previous.label]))
        previous = ex
    return found


def stale_dependencies(executions: Sequence[Execution]) -> list[dict[str, Any]]:
    """Cells that used what another cell defined, when that cell was re-run after them."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    definer: dict[str, Execution] = {}
    used_from: list[tuple[Execution, Execution, frozenset[str]]] = []  # (definer, user, names)
    last_seq: dict[str, int] = {}
    runs_of: dict[str, list[Execution]] = {}
    for ex in executions:
        by_definer: dict[int, tuple[Execution, set[str]]] = {}
        for name in ex.uses:
            source = definer.get(name)
            if source is not None and source.key != ex.key:
                by_definer.setdefault(source.seq, (source, set()))[1].add(name)
        for source, borrowed in by_definer.values():
            used_from.append((source, ex, frozenset(borrowed)))
        for name in ex.defines:
            definer[name] = ex
        last_seq[ex.key] = ex.seq
        runs_of.setdefault(ex.key, []).append(ex)
    for source, user, names in used_from:
        reruns = [e for e in runs_of.get(source.key, []) if e.seq > user.seq]
        if not reruns or last_seq[user.key] > reruns[0].seq or len(found) >= MAX_PER_KIND:
            continue
        rerun = reruns[0]
        how = "edited and re-run" if rerun.source != source.source else "re-run"
        pair = (source.key, user.key)
        if pair not in found:
            found[pair] = _warning(
                "stale_dependency",
                f"cell {source.label} was {how} after cell {user.label} used its results "
                f"({_names(names)}); cell {user.label} was not re-run since",
                [source.label, user.label])
    return list(found.values())


def edits(executions: Sequence[Execution], notebook_sources: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Cells (with frontend ids) that ran with several sources, or whose notebook source differs
    from the one that last ran (`notebook_sources`: cell id -> source)."""
    found: list[dict[str, Any]] = []
    sources: dict[str, list[Execution]] = {}
    for ex in executions:
        if ex.cell_id:
            sources.setdefault(ex.cell_id, []).append(ex)
    for cell_id, runs in sources.items():
        if len(found) >= MAX_PER_KIND:
            break
        distinct = list(dict.fromkeys(e.source for e in runs))
        current = (notebook_sources or {}).get(cell_id)
        if current is not None and current.strip() != runs[-1].source.strip():
            found.append(_warning(
                "edited_after_run",
                f"cell {runs[-1].label} was edited after it last ran: its outputs and the kernel's state "
                "come from a source that is not in the notebook", [runs[-1].label]))
        elif len(distinct) > 1:
            found.append(_warning(
                "edited_after_run",
                f"cell {runs[-1].label} ran with {len(distinct)} different sources in this run; only the "
                "last is in the notebook, earlier results came from the others", [runs[-1].label]))
    return found


def saved_differs(cells: Sequence[tuple[str, float | None]], saved_at: float | None) -> list[dict[str, Any]]:
    """Cells (label, when it last ran) whose source in the saved notebook differs from the one
    that ran: an unsaved edit when the file was saved before the cell ran, else an edit made
    after it ran (`saved_at`: the file's modification time; None: a live notebook)."""
    found = []
    for label, started in cells[:MAX_PER_KIND]:
        if saved_at is not None and started is not None and saved_at < started:
            found.append(_warning(
                "unsaved_edit",
                f"cell {label} ran with a source that is not in the saved notebook (edited and run without "
                "saving): the run records the source that ran; save the notebook to keep it", [label]))
        else:
            found.append(_warning(
                "edited_after_run",
                f"cell {label} was edited after it last ran: the notebook holds a source that did not run, "
                "the run records the one that did", [label]))
    return found


def deleted(executions: Sequence[Execution], notebook_ids: set[str]) -> list[dict[str, Any]]:
    gone = list(dict.fromkeys(ex.label for ex in executions if ex.cell_id and ex.cell_id not in notebook_ids))
    if not gone:
        return []
    return [_warning("deleted_cell", f"cell {label} ran in this run but is no longer in the notebook", [label])
            for label in gone[:MAX_PER_KIND]]


def pre_start_state(executions: Sequence[Execution], before_start: set[str] | frozenset[str]) -> list[dict[str, Any]]:
    """Names the run used that were defined before it started and not by the run's own cells."""
    defined: set[str] = set()
    borrowed: dict[str, str] = {}
    for ex in executions:
        for name in sorted(ex.uses - defined):
            if name in before_start:
                borrowed.setdefault(name, ex.label)
        defined |= ex.defines
    if not borrowed:
        return []
    cells = list(dict.fromkeys(borrowed.values()))
    return [_warning(
        "pre_start_state",
        f"the run used {_names(borrowed)} defined before %nbtrack start (not by the run's own cells); "
        "re-running the run's cells alone may not reproduce it", cells)]


def analyse(
    executions: Sequence[Execution],
    notebook_cells: Sequence[tuple[str | None, str]] | None = None,
    before_start: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Every warning for a run's executions. `notebook_cells`: the notebook's code cells as
    (cell id, source), in notebook order, when the notebook is known."""
    warnings = stale_dependencies(executions) + pre_start_state(executions, before_start)
    if notebook_cells is None:
        return warnings + edits(executions)
    ids = {cid for cid, _ in notebook_cells if cid}
    positions: dict[str, int] = {}
    for index, (cid, source) in enumerate(notebook_cells):
        positions.setdefault(cell_key(cid, source), index)
        positions.setdefault(cell_key(None, source), index)
    keyed = [ex if ex.key in positions else _by_source(ex) for ex in executions]
    return (out_of_order(keyed, positions) + warnings
            + edits(executions, {cid: src for cid, src in notebook_cells if cid})
            + (deleted(executions, ids) if ids else []))


def _by_source(ex: Execution) -> Execution:
    return Execution(ex.seq, cell_key(None, ex.source), ex.label, ex.cell_id, ex.source, ex.defines, ex.uses)
