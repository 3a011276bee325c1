"""A kernel driven message by message, with the cell ids JupyterLab sends: reproducibility
warnings, the magic's errors, and a kernel killed with SIGKILL."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from nbtrack.api import get_run
from nbtrack.store.store import open_store
from tests.capture.kernels import Kernel

pytestmark = pytest.mark.slow

CELLS = {"cell-a": "x = 1", "cell-b": "y = x + 1", "cell-c": "z = y * 10\nprint(z)"}


def write_notebook(path: Path, cells: dict[str, str]) -> None:
    nb = nbformat.v4.new_notebook()
    for cid, source in cells.items():
        cell = nbformat.v4.new_code_cell(source)
        cell["id"] = cid
        nb.cells.append(cell)
    nbformat.write(nb, path)


def the_run(store: Path):  # type: ignore[no-untyped-def]
    opened = open_store(str(store))
    return get_run(opened.run_ids()[-1], opened)


def test_out_of_order_edits_deletions_and_pre_start_state_are_warned(
    kernel: Kernel, store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = tmp_path / "analysis.ipynb"
    magic = {"cell-start": '%nbtrack start "exploration"', "cell-params": "lr = 0.05\napi_key = 'abcdef123456'",
             "cell-status": "%nbtrack status", "cell-stop": "%nbtrack stop"}
    write_notebook(
        notebook,
        {
            "cell-start": magic["cell-start"],
            "cell-params": magic["cell-params"],
            **CELLS,
            "cell-status": magic["cell-status"],
            "cell-stop": magic["cell-stop"],
        },
    )
    kernel.execute(f"import os; os.environ['NBTRACK_NOTEBOOK'] = {str(notebook)!r}")
    kernel.execute("w = 5")  # state from before the run
    kernel.execute("%load_ext nbtrack")
    assert "started" in kernel.text('%nbtrack start "exploration"', "cell-start")
    kernel.execute(magic["cell-params"], "cell-params", tags=["parameters"])
    kernel.execute(CELLS["cell-a"], "cell-a")
    kernel.execute(CELLS["cell-b"], "cell-b")
    kernel.execute(CELLS["cell-c"], "cell-c")
    kernel.execute("x = 2", "cell-a")  # cell a edited and re-run after b used x
    kernel.execute(CELLS["cell-c"], "cell-c")
    kernel.execute(CELLS["cell-b"], "cell-b")  # b above c, run after it
    kernel.execute("q = w + 1", "cell-gone")  # a cell then deleted from the notebook
    write_notebook(
        notebook,
        {
            "cell-start": magic["cell-start"],
            "cell-params": magic["cell-params"],
            **CELLS,
            "cell-a": "x = 3",  # edited, not re-run
            "cell-status": magic["cell-status"],
            "cell-stop": magic["cell-stop"],
        },
    )
    status = kernel.text("%nbtrack status", "cell-status")
    kernel.execute("%nbtrack stop", "cell-stop")

    run = the_run(store_path)
    kinds = {w["kind"] for w in run.warnings}
    assert kinds == {"out_of_order", "stale_dependency", "edited_after_run", "deleted_cell", "pre_start_state"}
    by_kind = {w["kind"]: w for w in run.warnings}
    assert by_kind["out_of_order"]["cells"] == ["cell-b", "cell-c"]
    # b was re-run after c used its y (a's re-run was followed by b's, so b is fresh)
    assert by_kind["stale_dependency"]["cells"] == ["cell-b", "cell-c"]
    assert "cell cell-b was re-run after cell cell-c used its results (y)" in by_kind["stale_dependency"]["message"]
    assert "cell-a" in by_kind["edited_after_run"]["cells"]
    assert [w["cells"] for w in run.warnings if w["kind"] == "deleted_cell"] == [["cell-gone"]]
    assert "w defined before %nbtrack start" in by_kind["pre_start_state"]["message"]
    for kind in ("out_of_order", "stale_dependency", "pre_start_state"):
        assert kind in status
    assert run.snapshots[-1]["source"] == "disk" and run.snapshots[-1]["path"] == str(notebook)
    assert [c["cell_id"] for c in run.cells][:3] == ["cell-start", "cell-params", "cell-a"]
    assert run.params == {"lr": 0.05, "api_key": "[REDACTED]"}  # tagged in the frontend


def test_magic_errors_are_one_line_and_restart_finishes_the_first_run(kernel: Kernel, store_path: Path) -> None:
    kernel.execute("%load_ext nbtrack")
    for line, expected in [("%nbtrack start --frobnicate", "unrecognized arguments: --frobnicate"),
                           ("%nbtrack launch", "unknown command 'launch'"),
                           ("%nbtrack start 'unbalanced", "No closing quotation"),
                           ("%nbtrack note", "give the note's text"),
                           ("%nbtrack snapshot", "no active run")]:
        messages = kernel.execute(line)
        assert [m["type"] for m in messages if m["type"] not in ("execute_input", "status")] == ["stream"], line
        text = messages[-1]["text"]
        assert text.startswith("nbtrack: ") and expected in text and text.count("\n") == 1, text
    first = kernel.text('%nbtrack start first --tag a --tag b --note "why not"')
    kernel.execute("%nbtrack note 'a second thought'")
    second = kernel.text("%nbtrack start second")
    first_id = first.split()[2]
    assert f"finished run {first_id} to start a new one" in second
    kernel.execute("%nbtrack stop")
    opened = open_store(str(store_path))
    runs = {get_run(i, opened).name: get_run(i, opened) for i in opened.run_ids()}
    assert runs["first"].status == "finished" and runs["first"].tags == ["a", "b"]
    assert runs["first"].notes == ["why not", "a second thought"]
    assert runs["first"].snapshots and runs["second"].status == "finished"


def test_a_kernel_killed_mid_run_reads_as_crashed_with_what_was_flushed(kernel: Kernel, store_path: Path) -> None:
    kernel.execute("%load_ext nbtrack")
    kernel.execute('%nbtrack start "doomed"')
    for i in range(3):
        kernel.execute(f"import nbtrack\nnbtrack.log(step={i}, loss={1.0 / (i + 1)})\nprint('step', {i})")
    kernel.execute("nbtrack.flush()")
    time.sleep(0.5)
    kernel.kill()
    time.sleep(0.2)
    run = the_run(store_path)
    assert run.status == "crashed"
    assert [c["source"].splitlines()[-1] for c in run.cells[1:4]] == [
        "print('step', 0)",
        "print('step', 1)",
        "print('step', 2)",
    ]
    assert run.cell_outputs(run.cells[3])[0]["text"] == "step 2\n"
    assert run.metrics["value"].tolist() == [1.0, 0.5, 1.0 / 3]
    assert run.environment() is not None


def test_a_kernel_shut_down_without_stop_finishes_the_run_with_a_snapshot(kernel: Kernel, store_path: Path) -> None:
    kernel.execute("%load_ext nbtrack")
    kernel.execute('%nbtrack start "left open" --note "password=hunter22hunter"')
    kernel.execute("answer = 6 * 7\nprint(answer)")
    kernel.client.stop_channels()
    kernel.manager.shutdown_kernel(now=False)  # a shutdown request: the kernel exits normally
    run = the_run(store_path)
    assert run.status == "finished" and run.snapshots[-1]["reason"] == "stop"
    assert [c.source for c in run.notebook().cells][-1] == "answer = 6 * 7\nprint(answer)"
    assert run.notes == ["password=[REDACTED]"]
