"""Confusion matrices in plain Python (no sklearn): counting, and per-class precision/recall.

``matrix[i][j]`` counts samples whose true label is ``labels[i]`` and predicted label is
``labels[j]`` (rows: truth, columns: prediction), as in scikit-learn.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any


def _plain(value: Any) -> Any:
    """A label as a JSON value (numpy scalars become Python numbers; other objects their str)."""
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def _ordered(values: Iterable[Any]) -> list[Any]:
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique)
    except TypeError:  # mixed types: order by text
        return sorted(unique, key=str)


def confusion_matrix(
    y_true: Iterable[Any], y_pred: Iterable[Any], labels: Sequence[Any] | None = None
) -> tuple[list[Any], list[list[int]]]:
    """(labels, matrix). Without `labels`, every label seen, sorted; with them, pairs whose
    truth or prediction is not among them are left out (as scikit-learn does)."""
    truth = [_plain(v) for v in y_true]
    pred = [_plain(v) for v in y_pred]
    if len(truth) != len(pred):
        raise ValueError(f"y_true has {len(truth)} values but y_pred has {len(pred)}")
    names = [_plain(v) for v in labels] if labels is not None else _ordered(truth + pred)
    if len(set(map(repr, names))) != len(names):
        raise ValueError("labels must be unique")
    position = {_key(name): i for i, name in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for t, p in zip(truth, pred):
        i, j = position.get(_key(t)), position.get(_key(p))
        if i is not None and j is not None:
            matrix[i][j] += 1
    return names, matrix


def _key(value: Any) -> tuple[str, Any]:
    # 1 and True and 1.0 are equal in Python; keep labels of different types apart, except ints
    # and floats of the same value (numpy often yields 1.0 for 1).
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    return (type(value).__name__, value)


def class_metrics(matrix: Sequence[Sequence[float]]) -> list[dict[str, float | None]]:
    """Per class: precision, recall (None when undefined: nothing predicted / no true samples),
    and support (true samples)."""
    size = len(matrix)
    out: list[dict[str, float | None]] = []
    for k in range(size):
        support = sum(matrix[k])
        predicted = sum(matrix[i][k] for i in range(size))
        hit = matrix[k][k]
        out.append({
            "precision": hit / predicted if predicted else None,
            "recall": hit / support if support else None,
            "support": support,
        })
    return out


def row_rates(matrix: Sequence[Sequence[float]]) -> list[list[float]]:
    """Each row divided by its total (0 for empty rows)."""
    return [[v / total if (total := sum(row)) else 0.0 for v in row] for row in matrix]
