"""``nbtrack report``: the runs named and those matching a filter, each once, into one file;
an unknown run is one clear line and exit code 2 (planted fault: --filter ignored)."""

from __future__ import annotations

import json
import re
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
