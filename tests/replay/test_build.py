"""Rebuilding the notebook a replay executes: orders, parameter injection, tracking wrapper."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbtrack.replay.build import INJECTED_TAG, RAISES_TAG, REPLAY_TAG, build, is_tracking_cell


def snapshot(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}})
    for i, cell in enumerate(cells):
        cell.id = f"c{i}"
    nb.cells = list(cells)
    return nb


def code(source: str, count: int | None, *outputs: dict, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    cell = new_code_cell(source, execution_count=count, outputs=list(outputs))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def out(text: str) -> dict:
    return new_output("stream", name="stdout", text=text)


BLOBS = {"o-total-10": [out("total 10\n")], "o-total-20": [out("total 20\n")], "o-err": [
    new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]}


def records(*rows: tuple[int, str, int, str | None]) -> list[dict]:
    return [{"t": "cell", "seq": seq, "cell_id": cid, "execution_count": count, "source": source, "outputs": sha}
            for seq, (cid, source, count, sha) in enumerate(rows)]


NB = snapshot(
    new_markdown_cell("# title"),
    code("lr = 0.1", 1, tags=("parameters",)),
    code('%load_ext nbtrack\n%nbtrack start "x"', 2),
    code("total += 10\nprint('total', total)", 5, out("total 20\n")),
    code("1/0", 6, BLOBS["o-err"][0]),
    code("never_ran()", None),
)
RECORDS = records(("c2", '%load_ext nbtrack\n%nbtrack start "x"', 2, None), ("c3", "total = 0", 3, None),
                  ("c3", "total += 10\nprint('total', total)", 4, "o-total-10"),
                  ("c3", "total += 10\nprint('total', total)", 5, "o-total-20"), ("c4", "1/0", 6, "o-err"))


def test_notebook_order_keeps_the_snapshot_and_compares_with_its_outputs() -> None:
    built = build(NB, RECORDS, BLOBS.__getitem__)
    assert [c.source for c in built.nb.cells] == [c.source for c in NB.cells]
    assert all(c.outputs == [] and c.execution_count is None for c in built.nb.cells if c.cell_type == "code")
    origins = built.origins
    assert origins[0] is None and origins[2] is None  # markdown; a tracking cell is not compared
    assert origins[3].outputs == [out("total 20\n")] and origins[3].execution_count == 5
    assert origins[5].outputs is None  # never ran in the original
    assert RAISES_TAG in built.nb.cells[4].metadata["tags"]  # it failed originally: the replay goes on


def test_executed_order_replays_every_execution_with_its_source() -> None:
    built = build(NB, RECORDS, BLOBS.__getitem__, order="executed")
    sources = [c.source for c in built.nb.cells]
    assert sources == ["lr = 0.1", '%load_ext nbtrack\n%nbtrack start "x"', "total = 0",
                       "total += 10\nprint('total', total)", "total += 10\nprint('total', total)", "1/0"]
    assert [o.outputs for o in built.origins[3:5]] == [[out("total 10\n")], [out("total 20\n")]]
    assert built.nb.cells[0].metadata["tags"] == ["parameters"]  # ran before tracking: from the snapshot
    ids = [c.id for c in built.nb.cells]
    assert len(set(ids)) == len(ids)
    nbformat.validate(built.nb)
    assert "ran before tracking began" in built.notes[0]


def test_parameters_go_after_the_parameters_cell_each_time_it_ran() -> None:
    built = build(NB, RECORDS, BLOBS.__getitem__, parameters={"lr": 0.5, "name": "a'b"})
    assert built.nb.cells[2].metadata["tags"] == [INJECTED_TAG]
    assert built.nb.cells[2].source.startswith("# Parameters")
    namespace: dict = {}
    exec(built.nb.cells[2].source, namespace)
    assert namespace["lr"] == 0.5 and namespace["name"] == "a'b"
    assert built.origins[2] is None and len(built.origins) == len(built.nb.cells)
    assert built.nb.metadata["papermill"]["parameters"] == {"lr": 0.5, "name": "a'b"}
    rerun = records(("c1", "lr = 0.1", 1, None), ("c1", "lr = 0.1", 2, None))
    twice = build(snapshot(code("lr = 0.1", 2, tags=("parameters",))), rerun, BLOBS.__getitem__, order="executed",
                  parameters={"lr": 0.5})
    assert [c.metadata.get("tags") for c in twice.nb.cells if REPLAY_TAG not in c.metadata.get("tags", [])] == [
        ["parameters"], [INJECTED_TAG], ["parameters"], [INJECTED_TAG]]


def test_without_a_parameters_cell_they_follow_the_cell_assigning_them() -> None:
    nb = snapshot(code("%nbtrack start", 1), code("import os\ndata_path = 'a.csv'", 2), code("print(data_path)", 3))
    built = build(nb, [], BLOBS.__getitem__, parameters={"data_path": "b.csv"})
    assert built.nb.cells[2].metadata["tags"] == [INJECTED_TAG] and "after cell 2" in built.notes[0]
    nothing = build(nb, [], BLOBS.__getitem__, parameters={"unknown": 1})
    assert nothing.nb.cells[0].metadata["tags"] == [INJECTED_TAG] and "at the top" in nothing.notes[0]


def test_a_notebook_that_never_tracks_is_wrapped() -> None:
    nb = snapshot(code("x = 1", 1), code("print(x)", 2, out("1\n")))
    built = build(nb, [], BLOBS.__getitem__, run_name='say "hi"')
    first, last = built.nb.cells[0], built.nb.cells[-1]
    assert first.source == '%load_ext nbtrack\n%nbtrack start "say \\"hi\\""' and last.source == "%nbtrack stop"
    assert first.metadata["tags"] == last.metadata["tags"] == [REPLAY_TAG]
    assert built.origins[0] is None and built.origins[-1] is None and built.origins[2].outputs == [out("1\n")]
    tracked = snapshot(code("import nbtrack\nnbtrack.start('a')\nx = 1", 1))
    assert len(build(tracked, [], BLOBS.__getitem__).nb.cells) == 1


def test_tracking_cells_and_errors() -> None:
    assert is_tracking_cell("%load_ext nbtrack\n%nbtrack start 'x' --tag a\n")
    assert is_tracking_cell("%nbtrack stop")
    assert not is_tracking_cell("%nbtrack start\nmodel.fit(X)")
    with pytest.raises(ValueError, match="order"):
        build(NB, RECORDS, BLOBS.__getitem__, order="random")
    with pytest.raises(ValueError, match="no cell executions"):
        build(NB, [], BLOBS.__getitem__, order="executed")


def test_nbtrack_replay_stays_callable_after_its_modules_are_imported() -> None:
    import nbtrack
    import nbtrack.replay.report  # binds the package as the attribute nbtrack.replay

    assert callable(nbtrack.replay)
    with pytest.raises(ValueError, match="env must be"):
        nbtrack.replay("anything", env="elsewhere")
