"""Smoke test of the benchmark suite: every module's ``measure(quick=True)``, peers off.

Checks that rows are well formed and figures positive; times nothing.
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import Row, fmt, markdown_table, text_table  # noqa: E402
from benchmarks.run import discover  # noqa: E402

MODULES = discover()
DIFFERENCE_WORDS = ("added", "overhead")
COUNT_UNITS = ("%", "cells")  # shares and counts of misses: 0 is the best figure, not a failed measurement


@pytest.fixture(autouse=True)
def _no_peers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NBTRACK_BENCH_PEERS", "0")
    monkeypatch.setenv("NBTRACK_BENCH_CHILD_TIMEOUT", "120")  # a hung child fails, not hangs
    monkeypatch.setenv("NBTRACK_BENCH_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("NBTRACK_BENCH_TMP", str(tmp_path / "tmp"))
    monkeypatch.setenv("NBTRACK_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "store"))


def _is_difference(row: Row) -> bool:
    """Difference figures (with minus without) may fall below 0 within noise (README)."""
    return any(word in row.figure.lower() for word in DIFFERENCE_WORDS)


def _may_be_zero(row: Row) -> bool:
    return row.unit in COUNT_UNITS


def test_discovery_finds_the_core_benchmarks() -> None:
    assert {"log_overhead", "query", "memory"} <= set(MODULES)
    assert not any(name.startswith("_") or name == "run" for name in MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_quick_measure_gives_well_formed_rows(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    rows = module.measure(quick=True)
    assert rows and all(isinstance(r, Row) for r in rows)
    for row in rows:
        assert row.benchmark and row.figure and row.unit, row
        assert row.mlflow is None and row.wandb is None, f"peers are off: {row}"
        assert row.met in (True, False, None)
        assert isinstance(row.target, str) and isinstance(row.note, str)
        for value in (row.nbtrack, row.floor):
            assert value is None or math.isfinite(value), row
            if value is not None and not _is_difference(row):
                assert value >= 0 if _may_be_zero(row) else value > 0, row
    assert any(r.nbtrack is not None for r in rows), "nbtrack was not measured at all"
    assert len({r.figure for r in rows}) == len(rows), "figures must be unique per module"
    assert all(Row.from_dict(r.to_dict()) == r for r in rows)
    assert name in text_table(rows) and name in markdown_table(rows)


def test_ratios_and_formatting() -> None:
    row = Row("b", "f", "ns", nbtrack=2.0, mlflow=200.0, wandb=None, floor=1.0)
    assert row.ratio("mlflow") == 100.0
    assert row.ratio("wandb") is None
    assert row.ratio("floor") == 2.0
    assert fmt(None) == "-" and fmt(1234.5) == "1,234" and fmt(0.5) == "0.50"
