"""compare(): curves, params, environment and the cell-by-cell notebook diff, from runs that
real kernels recorded (nbclient executes two notebooks with ``%nbtrack``); and the automatic
live chart in those kernels, with the points it draws in its saved state."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

import nbtrack
from nbtrack.api.notebook_diff import notebook_cells_diff
from nbtrack.widgets.compare import compare
from tests.capture.kernels import kernel_environment

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def notebook(cells: list[tuple[str, list[dict]]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for source, outputs in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    return nb


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_cells_diff_sources_and_outputs() -> None:
    a = notebook([("import x", []), ("print(1)", [stream("1\n")]), ("old = 1", []), ("fit()", [stream("acc 0.9\n")])])
    b = notebook([("import x", []), ("print(1)", [stream("1\n")]), ("fit()", [stream("acc 0.8\n")]), ("extra()", [])])
    cells = notebook_cells_diff(a, b)
    assert [(c["status"], c["a"], c["b"]) for c in cells] == [
        ("unchanged", 0, 0), ("unchanged", 1, 1), ("removed", 2, None), ("outputs changed", 3, 2), ("added", None, 3)]
    assert cells[3]["outputs"] == [[" ", "[stdout]"], ["-", "acc 0.9"], ["+", "acc 0.8"]]
    assert cells[2]["source"] == [["-", "old = 1"]]
    edited = notebook_cells_diff(
        a,
        notebook([("import x", []), ("print(2)", [stream("2\n")]), ("old = 1", []), ("fit()", [stream("acc 0.9\n")])]),
    )
    changed = [c for c in edited if c["status"] == "changed"]
    assert len(changed) == 1 and ["-", "print(1)"] in changed[0]["source"] and ["+", "print(2)"] in changed[0]["source"]
    assert ["+", "2"] in changed[0]["outputs"]


def sources(name: str, lr: float, result: float, extra: bool) -> list[str]:
    cells = [
        f"%load_ext nbtrack\n%nbtrack start {name!r}",
        "import time\nimport nbtrack\n"
        f"nbtrack.log_params(lr={lr}, depth=3)\n"
        "for i in range(60):\n    nbtrack.log(step=i, loss=1 / (i + 1) + " + str(lr) + ")\n    time.sleep(0.02)",
        f"print('accuracy', {result})",
    ]
    if extra:
        cells.append("extra = 1")
    return [*cells, "%nbtrack stop"]


def execute(sources: list[str], workdir: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


def widget_views(cell: nbformat.NotebookNode) -> list[dict]:
    return [o for o in cell.outputs if WIDGET_VIEW in (o.get("data") or {})]


def widget_state(nb: nbformat.NotebookNode, view: dict) -> dict:
    """The saved state of the model a widget-view output shows (nbclient stores it)."""
    model_id = view["data"][WIDGET_VIEW]["model_id"]
    return nb.metadata["widgets"][WIDGET_STATE]["state"][model_id]["state"]


@pytest.mark.slow
def test_compare_two_kernel_runs_and_auto_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    kernel_environment(monkeypatch, store)
    monkeypatch.delenv("NBTRACK_AUTO_LIVE", raising=False)
    first = execute(sources("<b>first</b>", 0.1, 0.91, extra=False), tmp_path)
    monkeypatch.setenv("NBTRACK_AUTO_LIVE", "0")
    second = execute(sources("second", 0.2, 0.93, extra=True), tmp_path)
    # the live chart showed itself under the logging cell, only where it was not switched off...
    (view,) = widget_views(first.cells[1])
    assert widget_views(second.cells[1]) == []
    # ...with points to draw: the state it was displayed with holds the run's first points
    state = widget_state(first, view)
    assert state["title"] == "<b>first</b>" and state["groups"] == [{"title": "loss", "keys": ["loss"]}]
    loss = state["snapshot"]["series"]["loss"]
    assert 1 <= len(loss["value"]) <= 60
    assert loss["value"] == [pytest.approx(1 / (i + 1) + 0.1) for i in loss["step"]]

    runs = sorted(nbtrack.runs(store=store).itertuples(), key=lambda r: r.start)
    comparison = compare(runs[0].id, runs[1].id, store=store)
    data = comparison.data
    assert [r["name"] for r in data["runs"]] == ["<b>first</b>", "second"]
    params = {row["key"]: row for row in data["params"]["rows"]}
    assert params["lr"]["changed"] and params["lr"]["values"] == ["0.1", "0.2"]
    assert not params["depth"]["changed"]
    env = data["environment"]
    assert env["available"] is True and (env["a"], env["b"]) == ("<b>first</b>", "second")
    # same machine and venv: the one difference is the variable this test set for the second run
    assert env["rows"] == [
        {"key": "env_vars: NBTRACK_AUTO_LIVE", "values": ["", "0"], "changed": True, "kind": "added"}]
    cells = data["cells"]
    assert cells["available"] is True
    by_status = {}
    for cell in cells["cells"]:
        by_status.setdefault(cell["status"], []).append(cell)
    assert [c["source"] for c in by_status["added"]] == [[["+", "extra = 1"]]]
    edited = by_status["changed"]  # the logging cell (lr) and the print cell (result)
    assert any(["+", "accuracy 0.93"] in c["outputs"] for c in edited)
    assert any(["-", "print('accuracy', 0.91)"] in c["source"] for c in edited)
    # the curves: one chart per metric, one line per run (by its index), every point
    (chart,) = data["curves"]["charts"]
    assert chart["key"] == "loss" and [line["run"] for line in chart["lines"]] == [0, 1]
    assert chart["lines"][0]["step"] == list(range(60)) and chart["lines"][0]["count"] == 60
    assert chart["lines"][1]["value"][0] == pytest.approx(1.2)
    assert [r["label"] for r in data["runs"]] == [f"{r.name} [{r.id[:8]}]" for r in comparison.runs]
    assert json.loads(json.dumps(data))  # the view's state is plain JSON


def test_compare_needs_two_runs(tmp_path: Path) -> None:
    with nbtrack.start("only", store=tmp_path / "s") as run:
        nbtrack.log(loss=1.0)
    with pytest.raises(ValueError, match="at least two"):
        compare(run.id, store=tmp_path / "s")


def test_long_series_downsampled_and_missing_snapshots_explained(tmp_path: Path) -> None:
    store = tmp_path / "s"
    ids = []
    for name in ("a", "b"):
        with nbtrack.start(name, store=store) as run:
            for i in range(20_000):
                nbtrack.log(step=i, loss=(i % 97) / 97)
            nbtrack.log(test_acc=0.5 if name == "a" else 0.75)
        ids.append(run.id)
    comparison = compare(*ids, store=store)
    loss, test_acc = comparison.data["curves"]["charts"]
    assert all(len(line["step"]) <= 2000 and line["count"] == 20_000 for line in loss["lines"])
    assert max(loss["lines"][0]["value"]) == 96 / 97 and min(loss["lines"][0]["value"]) == 0
    assert [(line["count"], line["value"]) for line in test_acc["lines"]] == [(1, [0.5]), (1, [0.75])]
    assert comparison.data["cells"] == {"available": False, "reason": f"run {ids[0]} has no notebook snapshot"}
    assert comparison.data["environment"]["rows"] == []  # same process, same environment


def test_the_view_gets_curves_at_the_width_it_draws(tmp_path: Path) -> None:
    store = tmp_path / "s"
    ids = []
    for name in ("a", "b"):
        with nbtrack.start(name, store=store) as run:
            for i in range(10_000):
                nbtrack.log(step=i, loss=(i % 89) / 89 + (3.0 if i == 7777 else 0.0))
        ids.append(run.id)
    comparison = compare(*ids, store=store)
    wide = comparison.data["curves"]["charts"][0]["lines"][0]
    comparison._on_front_end_message(comparison.view, {"type": "width", "px": 150}, [])
    narrow = comparison.view.data["curves"]["charts"][0]["lines"][0]
    assert len(narrow["step"]) <= 300 < len(wide["step"]) <= 2000
    assert max(narrow["value"]) == max(wide["value"]) == 3.0 + 7777 % 89 / 89 and 7777 in narrow["step"]
    assert narrow["count"] == wide["count"] == 10_000
    for junk in ({"type": "width", "px": "wide"}, {"type": "width", "px": True}, {"type": "other"}, "width"):
        comparison._on_front_end_message(comparison.view, junk, [])
    assert comparison.view.data["curves"]["charts"][0]["lines"][0] == narrow
