"""Confusion matrices without sklearn, checked against sklearn."""

from __future__ import annotations

import random

import numpy as np
import pytest

from nbtrack.core.confusion import class_metrics, confusion_matrix, row_rates


def test_matches_sklearn_on_random_labels() -> None:
    from sklearn.metrics import confusion_matrix as sk_confusion
    from sklearn.metrics import precision_score, recall_score

    rng = random.Random(3)
    truth = [rng.choice("abcd") for _ in range(500)]
    pred = [t if rng.random() < 0.7 else rng.choice("abcd") for t in truth]
    labels, matrix = confusion_matrix(truth, pred)
    assert labels == ["a", "b", "c", "d"]
    assert matrix == sk_confusion(truth, pred, labels=labels).tolist()
    per_class = class_metrics(matrix)
    precision = precision_score(truth, pred, labels=labels, average=None)
    recall = recall_score(truth, pred, labels=labels, average=None)
    for i in range(4):
        assert per_class[i]["precision"] == pytest.approx(precision[i])
        assert per_class[i]["recall"] == pytest.approx(recall[i])
        assert per_class[i]["support"] == truth.count(labels[i])


def test_numpy_inputs_explicit_labels_and_undefined_figures() -> None:
    labels, matrix = confusion_matrix(np.array([0, 1, 1, 5]), np.array([0, 1, 0, 1]), labels=[0, 1, 2])
    assert labels == [0, 1, 2] and all(type(v) is int for v in labels)
    assert matrix == [[1, 0, 0], [1, 1, 0], [0, 0, 0]]  # the pair with label 5 is left out
    figures = class_metrics(matrix)
    assert figures[2] == {"precision": None, "recall": None, "support": 0}
    assert row_rates(matrix) == [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]


def test_errors() -> None:
    with pytest.raises(ValueError, match="3 values"):
        confusion_matrix([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="unique"):
        confusion_matrix([1], [1], labels=[1, 1])


def test_mixed_label_types_sort_by_text() -> None:
    labels, _ = confusion_matrix(["b", 1, "a"], [1, 1, "a"])
    assert labels == [1, "a", "b"]
