"""Text UTF-8 cannot encode, met by a real kernel's run: in cell sources, outputs and every verb's
text. The run records all of it (read back identical) and every point logged after it.

The cells are sent as ASCII (``'\\ud800'`` escapes, as a notebook file holds them): Jupyter's own
messages cannot carry a lone surrogate (ipykernel fails to publish such a cell or output, and says
so in the cell), so the odd text exists only inside the kernel, where nbtrack meets it. A cell
whose *source* holds one is run from another cell through ``run_cell``, which fires the same hooks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nbtrack.api import get_run
from nbtrack.store.store import open_store
from tests.capture.kernels import Kernel

pytestmark = pytest.mark.slow

ODD = "lone \ud800 and \udfff"
ODD_SOURCE = repr(ODD)  # the Python literal, in ASCII


def test_a_kernel_run_records_odd_text_everywhere_and_every_later_point(kernel: Kernel, store_path: Path) -> None:
    odd = ODD_SOURCE
    assert kernel.run("%load_ext nbtrack") == kernel.run("%nbtrack start odd-text") == "ok"
    cells = [
        f"import nbtrack\nnbtrack.log(step=0, odd=1.0)\nnbtrack.log_params(odd={odd})",
        f"nbtrack.note({odd}); nbtrack.tag({odd}); nbtrack.log_artifact(b'x', name={odd})",
        f"print({odd})",
        f"from IPython.display import display, HTML\ndisplay(HTML('<b>' + {odd} + '</b>'))",
        f"_ = get_ipython().run_cell('source = ' + repr({odd}) + '  # ' + {odd})",
        f"raise ValueError({odd})",
    ]
    # replies on the shell channel: publishing the odd text can stop ipykernel's IOPub stream
    # (ipykernel raises in the display cell: it cannot publish that output)
    assert [kernel.run(source, timeout=120) for source in cells] == ["ok", "ok", "ok", "error", "ok", "error"]
    assert kernel.run("for i in range(100):\n    nbtrack.log(step=i, after=float(i))", timeout=120) == "ok"
    assert kernel.run("%nbtrack stop", timeout=120) == "ok"

    opened = open_store(str(store_path))
    (run_id,) = opened.run_ids()
    run = get_run(run_id, opened)
    assert run.status == "finished"
    assert run.warnings == [] or all(w["kind"] not in ("data-lost", "writer-error") for w in run.warnings)
    after = run.metrics[run.metrics.key == "after"]
    assert list(after.step) == [float(i) for i in range(100)]  # every point logged after the odd text
    assert list(run.metrics[run.metrics.key == "odd"].value) == [1.0]
    assert run.params["odd"] == ODD and ODD in run.notes and ODD in run.tags
    assert [a["name"] for a in run.artifacts] == [ODD]

    recorded = {cell["source"]: cell for cell in run.cells}
    inner = f"source = {ODD!r}  # {ODD}"
    assert inner in recorded  # a cell whose source holds the odd text, recorded as it ran
    assert {o.get("text") for o in run.cell_outputs(recorded[cells[2]])} == {ODD + "\n"}
    html = [o["data"]["text/html"] for o in run.cell_outputs(recorded[cells[3]]) if "data" in o]
    assert html == [f"<b>{ODD}</b>"]
    assert recorded[cells[5]]["ok"] is False  # (ipykernel itself fails to show that traceback)
    snapshot = run.notebook()
    assert any(ODD in "".join(cell["source"]) for cell in snapshot.cells)
