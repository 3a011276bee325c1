"""Writing report files: ``nbtrack report`` takes the runs named and those matching a filter,
each once (planted fault: --filter ignored); an unknown run is one clear line and exit code 2;
writing a report loads no kernel, widget or server code; a snapshot nbconvert cannot render
costs only its own view."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbtrack
from nbtrack.cli import main
from nbtrack.store.store import open_store


def report_ids(path: Path) -> list[str]:
    data = re.search(r'<script type="application/json" id="nbtrack-data">(.*?)</script>', path.read_text()).group(1)
    return [run["id"] for run in json.loads(data)["runs"]]


def test_cli_writes_the_runs_named_and_filtered(tmp_path: Path, capsys) -> None:
    store = open_store(tmp_path / "store")
    ids = []
    for name, tag in (("a", "paper"), ("b", "paper"), ("c", "draft")):
        with nbtrack.start(name, tags=[tag], store=store, params={"lr": 0.1}) as run:
            nbtrack.log(step=0, loss=1.0)
        ids.append(run.id)
    out = tmp_path / "shared" / "report.html"
    out.parent.mkdir()
    code = main(["--store", str(tmp_path / "store"), "report", ids[2][:12], "--filter", "tag=paper", "-o", str(out)])
    assert code == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert report_ids(out) == [ids[2], ids[0], ids[1]]
    assert main(["--store", str(tmp_path / "store"), "report", "zzzzzzzz", "-o", str(tmp_path / "x.html")]) == 2
    assert "no run matches 'zzzzzzzz'" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_writing_a_report_loads_no_kernel_widget_or_server_code(tmp_path: Path) -> None:
    """The layer rule: a report is written by plain Python (planted fault: importing
    nbtrack.widgets.compare for its shaping would load anywidget, ipywidgets and IPython)."""
    code = (
        "import sys, nbtrack\n"
        f"run = nbtrack.start('plain', store={str(tmp_path / 'store')!r}, params={{'lr': 0.1}})\n"
        "nbtrack.log(step=0, loss=1.0); nbtrack.log(step=1, loss=0.5); nbtrack.finish()\n"
        f"nbtrack.report(run.id, path={str(tmp_path / 'r.html')!r}, store={str(tmp_path / 'store')!r})\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'IPython', 'ipykernel', 'ipywidgets', 'anywidget', 'tornado', 'jupyter_server'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "NBTRACK_CAPTURE_ENV": "0"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "r.html").stat().st_size > 100_000


def test_a_snapshot_nbconvert_cannot_render_costs_its_view_only(tmp_path: Path, monkeypatch) -> None:
    """(planted fault: the renderer's error propagates and no report is written)"""
    from nbtrack.htmlreport.snapshot import SnapshotRenderer
    from tests.htmlreport.runs import training_run

    store = open_store(tmp_path / "store")
    run_id = training_run(store, tmp_path, "broken", 0.1, steps=5, confusion=False)

    def fail(self, nb, name):
        raise ValueError("no template for this output")

    monkeypatch.setattr(SnapshotRenderer, "add", fail)
    path = nbtrack.report(run_id, path=tmp_path / "r.html", store=store)
    data = re.search(r'id="nbtrack-data">(.*?)</script>', path.read_text()).group(1)
    section = json.loads(data)["runs"][0]
    assert section["snapshot"] is None and section["params"]
    assert section["snapshot_problem"] == ("the notebook snapshot could not be rendered "
                                           "(ValueError: no template for this output)")
