"""page_rows: the one sort-and-page function of the run table and the REST API."""

from __future__ import annotations

import math

import pytest

from nbtrack.core.paging import page_rows, sort_rows


def rows() -> list[dict]:
    return [
        {"id": "a", "name": "beta", "params.lr": 0.1, "metrics.loss.last": 0.5, "tags": ["x"]},
        {"id": "b", "name": "Alpha", "params.lr": 0.01, "metrics.loss.last": math.nan, "tags": []},
        {"id": "c", "name": "gamma", "params.lr": "auto", "metrics.loss.last": 0.2, "tags": ["a", "b"]},
        {"id": "d", "name": "delta", "metrics.loss.last": 0.9},
    ]


def ids(page: list[dict]) -> list[str]:
    return [r["id"] for r in page]


def test_sort_text_case_insensitive_and_short_names() -> None:
    assert ids(sort_rows(rows(), "name")) == ["b", "a", "d", "c"]
    assert ids(sort_rows(rows(), "loss")) == ["c", "a", "d", "b"]  # NaN last
    assert ids(sort_rows(rows(), "loss", desc=True)) == ["d", "a", "c", "b"]  # missing last both ways


def test_numbers_before_text_and_missing_last() -> None:
    assert ids(sort_rows(rows(), "lr")) == ["b", "a", "c", "d"]
    assert ids(sort_rows(rows(), "params.lr", desc=True)) == ["c", "a", "b", "d"]


def test_paging_and_total() -> None:
    many = [{"id": f"{i:05d}", "params.lr": i % 7} for i in range(10_000)]
    page, total = page_rows(many, "lr", True, offset=50, limit=50)
    assert total == 10_000 and len(page) == 50
    assert all(r["params.lr"] == 6 for r in page)
    assert page_rows(many, None, False, 9_990, 50)[0][-1]["id"] == "09999"
    assert page_rows(many, None, True, 0, 1)[0][0]["id"] == "09999"
    assert page_rows(many, "lr", False, 20_000, 50) == ([], 10_000)
    with pytest.raises(ValueError):
        page_rows(many, None, False, -1, 5)
