"""Parameters from a notebook's ``parameters`` cell (papermill's convention).

A cell is a parameters cell when it is tagged ``parameters`` (tags reach the kernel from
JupyterLab/Notebook 7, or come from the notebook file), or is papermill's ``injected-parameters``
cell. Papermill does not tell the kernel about tags, but the cell it injects starts with the
comment ``# Parameters`` and always follows the tagged cell; that is how a papermill run is
recognised from the sources alone.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
PAPERMILL_HEADER = "# Parameters"


def parse_parameters(source: str) -> dict[str, Any]:
    """Top-level ``name = value`` assignments of a cell: literal values as values, other
    expressions as their source text. Empty when the cell does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            names = [target] if isinstance(target, ast.Name) else list(getattr(target, "elts", []))
            literal = _literal(value, source)
            if isinstance(target, ast.Name):
                values[target.id] = literal
            elif isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(names):
                for name, element in zip(names, value.elts):
                    if isinstance(name, ast.Name):
                        values[name.id] = _literal(element, source)
    return values


def _literal(node: ast.expr, source: str) -> Any:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ast.get_source_segment(source, node)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (bytes, complex)):
        return repr(value)
    return value


def is_papermill_injected(source: str) -> bool:
    return source.lstrip().startswith(PAPERMILL_HEADER)


def parameter_cells(sources: Sequence[str], tags: Sequence[Sequence[str]] | None = None) -> dict[int, str]:
    """Which of `sources` (cells in execution or notebook order) are parameters cells:
    index -> ``parameters`` | ``injected-parameters``. Tags win; without them, papermill's
    injected cell and the cell just before it are recognised."""
    found: dict[int, str] = {}
    for index, source in enumerate(sources):
        cell_tags = tags[index] if tags is not None and index < len(tags) else ()
        if INJECTED_TAG in cell_tags:
            found[index] = INJECTED_TAG
        elif PARAMETERS_TAG in cell_tags:
            found[index] = PARAMETERS_TAG
        elif is_papermill_injected(source) and parse_parameters(source):
            found[index] = INJECTED_TAG
            if index > 0 and index - 1 not in found and parse_parameters(sources[index - 1]):
                found[index - 1] = PARAMETERS_TAG
    return found


def parameters_of(sources: Sequence[str], tags: Sequence[Sequence[str]] | None = None,
                  cells: dict[int, str] | None = None) -> dict[str, Any]:
    """The run's params: the parameters cell's values, overridden by injected ones (`cells`: the
    `parameter_cells` of `sources` when the caller has them already)."""
    cells = parameter_cells(sources, tags) if cells is None else cells
    values: dict[str, Any] = {}
    for kind in (PARAMETERS_TAG, INJECTED_TAG):
        for index, found in sorted(cells.items()):
            if found == kind:
                values.update(parse_parameters(sources[index]))
    return values
