"""Replay fidelity on real third-party notebooks (a handful of ``benchmarks/corpus``), end to end:
papermill under tracking, then ``nbtrack.replay`` with the random state restored.

The notebooks cover the ways a replay used to "differ" without cause: numpy imported and drawn
from without a seed in one cell (17), printed and plotted timings (39), statsmodels summaries with
today's date and memory addresses (01), deterministic figures (30). No cell may differ where two
plain executions agree (the corpus baseline), every difference must have a cause. Needs the
corpus packages (``scripts/test.sh`` installs them); ``benchmarks/fidelity.py`` runs the whole corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.corpus import entries
from benchmarks.fidelity import measure_entries, summary

CHOSEN = ("17_", "39_", "01_", "30_")
pytestmark = [pytest.mark.slow, pytest.mark.corpus]


def test_corpus_notebooks_reproduce_with_no_false_differences_and_every_difference_caused() -> None:
    for module in ("sklearn", "statsmodels", "matplotlib", "PIL"):
        __import__(module)  # a missing corpus package is a broken set-up, not a skip
    chosen = [e for e in entries() if Path(e["file"]).name.startswith(CHOSEN)]
    assert len(chosen) == len(CHOSEN)
    rows = {r["notebook"][:3]: r for r in measure_entries(chosen, "restored", False, say=lambda line: None)}
    result = summary(list(rows.values()))
    assert result["false_differences"] == 0, [r["false"] for r in rows.values()]
    assert result["caused_pct"] == 100.0, rows
    for prefix in ("17_", "01_", "30_"):  # unseeded draws restored, dates and addresses masked
        assert rows[prefix]["verdict"] == "reproduced", rows[prefix]
    assert rows["39_"]["verdict"] == "reproduced" or set(rows["39_"]["causes"]) == {"timing"}, rows["39_"]


def test_a_cell_is_only_a_false_difference_when_more_plain_executions_agree_on_it(tmp_path: Path) -> None:
    """Two plain executions may agree by chance on a cell that varies; the benchmark executes the
    notebook plainly again before it blames nbtrack (``benchmarks.fidelity.plain_differing``)."""
    import nbformat

    from benchmarks.fidelity import plain_differing

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(sum(range(10)))"),
                nbformat.v4.new_code_cell("import os\nprint(os.getpid())")]  # another process each time
    nb.cells[0].id, nb.cells[1].id = "steady", "varies"
    path = tmp_path / "pid.ipynb"
    nbformat.write(nb, path)
    assert plain_differing({"file": str(path), "traits": []}, runs=2) == {"varies"}
