"""A sweep cell starting runs with ``nbtrack.start()`` in a loop, in a kernel a real Jupyter
server started for a notebook (no ``%load_ext``, no magic): the runs belong to the notebook
(header, snapshots at start and finish, params from its parameters cell), the REST API lists
them under it, and replaying one re-runs the notebook and compares it with the run started at
the same place in the loop."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import TYPE_CHECKING

import nbformat
import pytest

import nbtrack
from nbtrack.core.reproduce import REPRODUCED
from nbtrack.replay import replay
from tests.capture.test_jupyter_server import execute
from tests.journeys.frontend import code_sources, make_notebook

if TYPE_CHECKING:
    from tests.browser import LabServer

pytestmark = pytest.mark.slow

SWEEP = ("import nbtrack\nfor lr in [0.1, 0.2, 0.3]:\n"
         "    with nbtrack.start('sweep', tags=['sweep'], params={'lr': lr}):\n"
         "        for step in range(epochs):\n"
         "            nbtrack.log(step=step, loss=round(lr * (step + 1) + seed, 6))\n"
         "print('swept')")


def test_runs_started_in_a_loop_belong_to_their_notebook(lab_server: LabServer) -> None:
    name = "sweep-journey.ipynb"
    path = lab_server.root / name
    cells = [("markdown", "# Sweep over lr"), ("code", "epochs = 3\nseed = 0", ["parameters"]), ("code", SWEEP),
             ("code", "print('after the sweep')")]
    nbformat.write(make_notebook(cells), path)
    body = json.dumps({"path": name, "name": name, "type": "notebook", "kernel": {"name": "python3"}}).encode()
    request = urllib.request.Request(f"{lab_server.url}api/sessions", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"token {lab_server.token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        kernel_id = json.load(response)["kernel"]["id"]
    try:
        ws = f"ws://{lab_server.url.split('://')[1]}api/kernels/{kernel_id}/channels?token={lab_server.token}"
        texts = asyncio.run(execute(ws, [c[1] for c in cells if c[0] == "code"]))
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{lab_server.url}api/kernels/{kernel_id}", method="DELETE",
                                                      headers={"Authorization": f"token {lab_server.token}"}))
    assert texts[1].endswith("swept\n") and texts[2] == "after the sweep\n"

    listed = lab_server.api(f"nbtrack/api/runs?notebook={name}")
    assert listed["total"] == 3
    runs = sorted((nbtrack.get_run(r["id"], str(lab_server.store)) for r in listed["runs"]), key=lambda r: r.id)
    for index, (run, lr) in enumerate(zip(runs, [0.1, 0.2, 0.3])):
        header = run.records[0]
        assert header["notebook"] == str(path) and header["kernel_id"] == kernel_id
        assert header["started_in_cell"]["index"] == index
        assert run.params == {"epochs": 3, "seed": 0, "lr": lr}  # the parameters cell, and start()'s
        assert run.status == "finished" and run.tags == ["sweep"]
        assert [s["reason"] for s in run.snapshots] == ["start", "stop"]
        snapshot = run.notebook()
        assert snapshot.cells[0].source == "# Sweep over lr"
        assert code_sources(snapshot)[:2] == ["epochs = 3\nseed = 0", SWEEP]
        assert [c["source"] for c in run.cells] == [SWEEP]  # the cell that ran it, as far as it got
        assert run.history()["loss"].tolist() == [round(lr * (s + 1), 6) for s in range(3)]
        detail = lab_server.api(f"nbtrack/api/runs/{run.id}")
        assert detail["params"] == {"epochs": 3, "seed": 0, "lr": lr}
        assert [c["cell_type"] for c in lab_server.api(f"nbtrack/api/runs/{run.id}/notebook")["cells"]] == [
            "markdown", "code", "code", "code"]

    # replaying the second run re-runs the whole notebook (the sweep starts three runs again, each
    # linked to the original) and compares it with the replay's second run
    result = replay(runs[1].id, store=str(lab_server.store), out=lab_server.root / "sweep-replay.ipynb",
                    yes=True)  # the lab recorded it as ui-tester, this process is tester
    assert result.report.verdict == REPRODUCED, json.dumps(result.report.to_dict(), indent=1)[:4000]
    replayed = nbtrack.get_run(result.run_id, str(lab_server.store))
    assert replayed.params == runs[1].params and replayed.records[0]["started_in_cell"]["index"] == 1
    linked = [r for r in nbtrack.runs(store=str(lab_server.store))["id"]
              if nbtrack.get_run(r, str(lab_server.store)).state.replay_of == runs[1].id]
    assert len(linked) == 3
