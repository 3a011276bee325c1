"""Journeys through a notebook in a live kernel, cell by cell as a person clicks: what the run
records (params, cell sources and order, the snapshot with its markdown and unsaved-change
marks, the warnings) must be what ran.

Two frontends (tests/journeys/frontend.py): ``lab`` sends cell ids and tags (JupyterLab,
Notebook 7; the notebook's path reaches the kernel through the server, here through
``$NBTRACK_NOTEBOOK``: tests/capture/test_jupyter_server.py and test_lab_browser.py cover the
server route), ``vscode`` sends neither and sets ``__vsc_ipynb_file__`` in the kernel, as VS Code
does; its file goes stale as soon as a cell is edited and not saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.journeys.frontend import Frontend, code_sources, make_notebook, runs, the_run, unsaved

pytestmark = pytest.mark.slow

PARAMS = "max_depth = 12\nseed = 0"
EDITED = "max_depth = 4\nseed = 0"
WORK = "score = max_depth * 10 + seed\nprint('score', score)"
LAYOUTS = {
    # where the tagged parameters cell sits relative to %load_ext and %nbtrack start
    "before load": [("markdown", "# Forest depth"), ("code", PARAMS, ["parameters"]),
                    ("code", '%load_ext nbtrack\n%nbtrack start "depth"'), ("code", WORK),
                    ("code", "%nbtrack status"), ("code", "%nbtrack stop")],
    "between load and start": [("markdown", "# Forest depth"), ("code", "%load_ext nbtrack"),
                               ("code", PARAMS, ["parameters"]), ("code", '%nbtrack start "depth"'),
                               ("code", WORK), ("code", "%nbtrack status"), ("code", "%nbtrack stop")],
    "after start": [("markdown", "# Forest depth"), ("code", '%load_ext nbtrack\n%nbtrack start "depth"'),
                    ("code", PARAMS, ["parameters"]), ("code", WORK), ("code", "%nbtrack status"),
                    ("code", "%nbtrack stop")],
}


@pytest.fixture
def open_frontend(store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    opened: list[Frontend] = []

    def open_(cells: list, kind: str = "lab") -> Frontend:
        path = tmp_path / "depth.ipynb"
        if kind == "lab":
            monkeypatch.setenv("NBTRACK_NOTEBOOK", str(path))
        frontend = Frontend(path, make_notebook(cells), "plain" if kind == "vscode" else "lab")
        if kind == "vscode":  # VS Code's own set-up code, run silently (not a cell)
            frontend.kernel.execute(f"__vsc_ipynb_file__ = {str(path)!r}", silent=True)
        opened.append(frontend)
        return frontend

    yield open_
    for frontend in opened:
        frontend.close()


def index_of(frontend: Frontend, source: str) -> int:
    return next(i for i, c in enumerate(frontend.nb.cells) if c.source == source)


@pytest.mark.parametrize("saved", ["saved", "unsaved"])
@pytest.mark.parametrize("kind", ["lab", "vscode"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_run_all_records_the_parameters_cell_that_ran(open_frontend, store_path: Path, layout: str, kind: str,
                                                      saved: str) -> None:
    frontend = open_frontend(LAYOUTS[layout], kind)
    params = index_of(frontend, PARAMS)
    frontend.edit(params, EDITED)  # max_depth 12 -> 4 in the notebook
    if saved == "saved":
        frontend.save()
    frontend.run_all()  # Run All (without saving, in the unsaved case)

    run = the_run(store_path)
    assert run.status == "finished"
    assert run.params == {"max_depth": 4, "seed": 0}
    status = frontend.outputs[index_of(frontend, "%nbtrack status")]
    assert "score 40" in frontend.outputs[index_of(frontend, WORK)]
    # the cells from %nbtrack start on, each once, in the order they ran, with the source that ran
    ran = code_sources(frontend.nb)
    start = next(i for i, s in enumerate(ran) if "%nbtrack start" in s)
    assert [c["source"] for c in run.cells] == ran[start:]
    assert [c["execution_count"] for c in run.cells] == list(range(start + 1, len(ran) + 1))
    # the snapshot: the notebook as it ran, markdown included, the unsaved edit marked
    snapshot = run.notebook()
    assert run.snapshots[-1]["source"] in ("disk", "vscode") and run.snapshots[-1]["path"] == str(frontend.path)
    assert [c.cell_type for c in snapshot.cells] == [c.cell_type for c in frontend.nb.cells]
    assert snapshot.cells[0].source == "# Forest depth"
    assert code_sources(snapshot) == ran
    assert [c.execution_count for c in snapshot.cells if c.cell_type == "code"] == list(range(1, len(ran) + 1))
    tagged = [c for c in snapshot.cells if "parameters" in c.metadata.get("tags", [])]
    assert [c.source for c in tagged] == [EDITED]
    if saved == "saved":
        assert unsaved(snapshot) == {}
        assert "warnings: none" in status and run.warnings == []
    else:
        assert unsaved(snapshot) == {EDITED: PARAMS}
        assert [w["kind"] for w in run.warnings] == ["unsaved_edit"]
        assert "unsaved_edit" in status and "warnings: none" not in status
    header = run.records[0]
    assert header["notebook"] == str(frontend.path)


def test_restart_and_run_all_records_only_the_new_kernel(open_frontend, store_path: Path) -> None:
    frontend = open_frontend(LAYOUTS["before load"])
    frontend.run_all()
    frontend.edit(index_of(frontend, PARAMS), "max_depth = 7\nseed = 0")
    frontend.edit(index_of(frontend, WORK), WORK + "\nextra = 1")
    frontend.restart()
    frontend.run_all()
    first, second = runs(store_path)
    assert first.params == {"max_depth": 12, "seed": 0} and second.params == {"max_depth": 7, "seed": 0}
    assert [c["source"] for c in second.cells] == code_sources(frontend.nb)[1:]
    assert [c["execution_count"] for c in second.cells] == [2, 3, 4, 5]  # the new kernel counts from 1
    snapshot = second.notebook()
    assert code_sources(snapshot) == code_sources(frontend.nb)
    assert unsaved(snapshot) == {"max_depth = 7\nseed = 0": PARAMS, WORK + "\nextra = 1": WORK}
    assert sorted(w["kind"] for w in second.warnings) == ["unsaved_edit", "unsaved_edit"]
    assert first.warnings == []


def test_rerunning_the_parameters_cell_after_later_cells_used_it(open_frontend, store_path: Path) -> None:
    frontend = open_frontend(LAYOUTS["after start"])
    params, work = index_of(frontend, PARAMS), index_of(frontend, WORK)
    frontend.run(1, params, work)
    frontend.edit(params, "max_depth = 5\nseed = 0")
    frontend.run(params)  # re-run (edited, not saved) after the work cell used its values
    status = frontend.run(index_of(frontend, "%nbtrack status"))
    frontend.run(index_of(frontend, "%nbtrack stop"))
    run = the_run(store_path)
    assert run.params == {"max_depth": 5, "seed": 0}  # the parameters cell as it last ran
    assert [c["cell_id"] for c in run.cells] == ["cell-1", "cell-2", "cell-3", "cell-2", "cell-4", "cell-5"]
    assert [c["source"] for c in run.cells][1:4] == [PARAMS, WORK, "max_depth = 5\nseed = 0"]
    kinds = sorted(w["kind"] for w in run.warnings)
    # it ran with two sources, the second never saved, after a cell below it that used the first
    assert kinds == ["edited_after_run", "out_of_order", "stale_dependency", "unsaved_edit"]
    stale = next(w for w in run.warnings if w["kind"] == "stale_dependency")
    assert stale["cells"] == ["cell-2", "cell-3"] and "edited and re-run" in stale["message"]
    assert "stale_dependency" in status and "unsaved_edit" in status
    snapshot = run.notebook()
    assert snapshot.cells[2].source == "max_depth = 5\nseed = 0" and snapshot.cells[2].execution_count == 4
    assert snapshot.cells[3].outputs[0]["text"] == "score 120\n"  # what the work cell showed when it ran


def test_cells_run_out_of_order(open_frontend, store_path: Path) -> None:
    frontend = open_frontend([("code", '%load_ext nbtrack\n%nbtrack start "order"'), ("code", "a = 1"),
                              ("markdown", "then"), ("code", "b = a + 1\nprint(b)"), ("code", "c = 10"),
                              ("code", "%nbtrack stop")])
    frontend.run(0, 1, 4, 3, 5)  # c = 10 runs before the cell above it
    run = the_run(store_path)
    assert [c["cell_id"] for c in run.cells] == ["cell-0", "cell-1", "cell-4", "cell-3", "cell-5"]
    assert [c["execution_count"] for c in run.cells] == [1, 2, 3, 4, 5]
    assert [w["kind"] for w in run.warnings] == ["out_of_order"]
    assert run.warnings[0]["cells"] == ["cell-3", "cell-4"]
    snapshot = run.notebook()
    assert [(c.cell_type, c.get("execution_count")) for c in snapshot.cells] == [
        ("code", 1), ("code", 2), ("markdown", None), ("code", 4), ("code", 3), ("code", 5)]
    assert run.params == {}


def test_vscode_variable_naming_a_stale_file(open_frontend, store_path: Path) -> None:
    """The file VS Code names holds an old version of every edited cell; nothing was saved."""
    frontend = open_frontend(LAYOUTS["after start"], "vscode")
    frontend.edit(index_of(frontend, PARAMS), EDITED)
    frontend.edit(index_of(frontend, WORK), WORK.replace("* 10", "* 100"))
    frontend.nb.cells.insert(4, make_notebook([("code", "print('added, never saved')")]).cells[0])
    frontend.run_all()
    run = the_run(store_path)
    assert run.params == {"max_depth": 4, "seed": 0}
    assert run.snapshots[-1]["source"] == "vscode"
    snapshot = run.notebook()
    assert code_sources(snapshot) == code_sources(frontend.nb)
    assert unsaved(snapshot) == {EDITED: PARAMS, WORK.replace("* 10", "* 100"): WORK}
    assert sorted(w["kind"] for w in run.warnings) == ["unsaved_edit", "unsaved_edit"]
    assert run.cell_outputs(run.cells[2])[0]["text"] == "score 400\n"
