"""Notebook snapshots stored cell by cell: round trip, dedup, widgets, caps, redaction, validity."""

from __future__ import annotations

import nbformat
import pytest

from nbtrack.core.outputs import cap_output
from nbtrack.core.redact import Redactor
from nbtrack.core.snapshot import SnapshotWriter, load_notebook, rebuild_notebook


class Blobs(dict):  # type: ignore[type-arg]
    def put(self, data: bytes) -> str:
        import hashlib

        sha = hashlib.sha256(data).hexdigest()
        self[sha] = data
        return sha


def notebook(cells: int = 5) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    for i in range(cells):
        cell = nbformat.v4.new_code_cell(f"x{i} = {i}", execution_count=i + 1)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{i}\n")]
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_markdown_cell("# notes"))
    return nb


def test_round_trip_and_unchanged_cells_stored_once() -> None:
    blobs = Blobs()
    writer = SnapshotWriter(blobs.put, Redactor())
    nb = notebook()
    manifest, cells = writer.store(nb)
    back = load_notebook(blobs.__getitem__, manifest)
    nbformat.validate(back)
    assert [c.source for c in back.cells] == [c.source for c in nb.cells]
    assert back.cells[0].outputs[0]["text"] == "0\n"
    before = len(blobs)
    nb.cells[2].source = "x2 = 'edited'"
    _, cells2 = SnapshotWriter(blobs.put, Redactor()).store(nb)  # a fresh writer: dedup by content
    assert len(blobs) == before + 2  # the edited cell and the manifest
    assert [a == b for a, b in zip(cells, cells2)] == [True, True, False, True, True, True]


def test_widget_state_and_views_are_stripped() -> None:
    nb = notebook(1)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"x": "y" * 1000}}}
    nb.cells[0].outputs.append(nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "FigureWidget(...)"}))
    blobs = Blobs()
    back = load_notebook(blobs.__getitem__, SnapshotWriter(blobs.put, Redactor()).store(nb)[0])
    assert "widgets" not in back.metadata
    assert back.cells[0].outputs[1]["data"] == {"text/plain": "FigureWidget(...)"}


def test_big_outputs_are_capped_with_a_marker_and_secrets_redacted() -> None:
    nb = notebook(1)
    nb.cells[0].source = "password = 'hunter22'"
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a" * 5000 + " token=abcdef123"),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBOR" * 2000, "text/plain": "<Figure>"}),
    ]
    blobs = Blobs()
    back = load_notebook(blobs.__getitem__, SnapshotWriter(blobs.put, Redactor(), max_output_bytes=1000).store(nb)[0])
    cell = back.cells[0]
    assert cell.source == "password = '[REDACTED]'"
    assert cell.outputs[0]["text"].startswith("a" * 1000) and "more bytes not stored" in cell.outputs[0]["text"]
    assert (
        "image/png" not in cell.outputs[1]["data"]
        and "image/png output of 10000 bytes" in cell.outputs[1]["data"]["text/plain"]
    )
    assert b"hunter22" not in b"".join(blobs.values())


def test_an_invalid_notebook_is_refused_and_nothing_stored() -> None:
    blobs = Blobs()
    nb = notebook(1)
    nb.cells[0]["outputs"] = [{"output_type": "nonsense"}]
    with pytest.raises(ValueError, match="not a valid nbformat v4 notebook"):
        SnapshotWriter(blobs.put, Redactor()).store(nb)
    assert not blobs


def test_rebuilt_notebooks_validate_and_keep_ids_and_tags() -> None:
    nb = rebuild_notebook([
        {"source": "a = 1", "tags": ["parameters"], "execution_count": 1},
        {"source": "print(a)", "cell_id": "keep-me", "execution_count": 2,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]},
        {"source": "dup", "cell_id": "keep-me"}, {"source": "bad id", "cell_id": "no spaces allowed"},
    ])
    nbformat.validate(nbformat.from_dict(nb))
    ids = [c["id"] for c in nb["cells"]]
    assert ids[1] == "keep-me" and len(set(ids)) == 4 and nb["cells"][0]["metadata"]["tags"] == ["parameters"]


def test_cap_output_leaves_small_outputs_alone() -> None:
    small = {"output_type": "stream", "name": "stdout", "text": "hi"}
    assert cap_output(small, 100) == small
    error = {"output_type": "error", "ename": "E", "evalue": "v" * 50, "traceback": ["x" * 80] * 5}
    assert "cut here" in cap_output(error, 100)["traceback"][0]
