"""Replays on the data a run recorded (``--data recorded``) after the data on disk changed, and
the drift reported when replaying on the current data. Real papermill runs in real kernels."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

import nbtrack
from nbtrack.core.reproduce import DIFFERS, REPRODUCED
from nbtrack.replay import replay
from nbtrack.replay.report import render
from nbtrack.store.store import open_store
from tests.replay.originals import NOTEBOOKS
from tests.store.conftest import STORE_BACKENDS

pytestmark = pytest.mark.slow


def run_original(name: str, folder: Path, url: str) -> str:
    """Execute tests/notebooks/<name>.ipynb with papermill in `folder`, tracked into `url`."""
    output = folder / f"{name}.ipynb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NBTRACK_STORE", url)
        patch.setenv("NBTRACK_NOTEBOOK", str(output))
        # no live chart: its display lands in the next cell's outputs now and then (a race of the
        # widgets' auto view, not of data), and replays never show one; this test is about data
        patch.setenv("NBTRACK_AUTO_LIVE", "0")
        papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(output), kernel_name="python3",
                                   cwd=str(folder), progress_bar=False)
    return open_store(url).run_ids()[-1]


def test_seeded_run_reproduces_on_recorded_data_after_the_file_changed(
    digits_folder: Path, tmp_path: Path, child_env: dict[str, str]
) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(digits_folder / "digits.csv", folder / "digits.csv")
    store = str(tmp_path / "store")
    run_id = run_original("replay_seeded", folder, store)
    original = nbtrack.get_run(run_id, store)
    assert [(d["name"], d["version"]) for d in original.data] == [("digits.csv", 1)]

    # someone edits the data on disk: every label shifted
    lines = (folder / "digits.csv").read_text().splitlines()
    edited = [lines[0]] + [f"{row.rsplit(',', 1)[0]},{(int(row.rsplit(',', 1)[1]) + 1) % 10}" for row in lines[1:]]
    (folder / "digits.csv").write_text("\n".join(edited) + "\n")
    edited_bytes = (folder / "digits.csv").read_bytes()

    current = replay(run_id, store=store, out=tmp_path / "current.ipynb")
    assert current.report.verdict == DIFFERS
    row = current.report.data[0]
    assert row["status"] == "different" and row["version"] == "digits.csv@1" and row["used"] == "current"
    assert any("--data recorded" in line for line in render(current.report))

    done = subprocess.run(
        [sys.executable, "-m", "nbtrack", "--store", store, "replay", run_id, "--data", "recorded", "--json",
         "--out", str(tmp_path / "recorded.ipynb")],
        env=child_env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)["report"]
    assert report["verdict"] == REPRODUCED, report
    row = report["data"][0]
    assert row["status"] == "same" and row["version"] == "digits.csv@1"
    assert "(parameter data_path)" in row["used"] and row["replay_path"] != row["path"]
    copy = Path(report["parameters"]["data_path"])
    assert copy.read_bytes() != edited_bytes and copy.parent.name == "digits.csv@1"
    assert (folder / "digits.csv").read_bytes() == edited_bytes  # the user's data is left as it is


@pytest.mark.parametrize("kind", ["local", "s3", "http"])
def test_data_at_a_relative_path_is_placed_in_a_fresh_working_folder(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = STORE_BACKENDS[kind](request, tmp_path)
    folder = tmp_path / "project"
    (folder / "inputs").mkdir(parents=True)
    (folder / "inputs" / "values.csv").write_text("1\n2\n3\n")
    (folder / "inputs" / "notes.txt").write_text("not tracked, still found")
    (folder / "scale.txt").write_text("2")
    run_id = run_original("replay_data_relative", folder, url)
    assert nbtrack.get_run(run_id, url).state.metrics["total"].last == 12.0

    (folder / "inputs" / "values.csv").write_text("10\n20\n30\n")
    # (yes: a bucket cannot attest who wrote the run, a team server names its own stamp)
    current = replay(run_id, store=url, out=tmp_path / "current.ipynb", yes=True)
    assert current.report.verdict == DIFFERS and current.report.data[0]["status"] == "different"

    result = replay(run_id, store=url, data="recorded", out=tmp_path / "recorded.ipynb", yes=True)
    assert result.report.verdict == REPRODUCED, "\n".join(render(result.report))
    row = result.report.data[0]
    assert row["status"] == "same" and row["used"] == "values.csv@1 at inputs/values.csv in the replay's working folder"
    work = tmp_path / "recorded.data" / "cwd"
    assert (work / "inputs" / "values.csv").read_text() == "1\n2\n3\n"
    assert (work / "scale.txt").is_symlink() and (work / "inputs" / "notes.txt").is_symlink()
    assert (folder / "inputs" / "values.csv").read_text() == "10\n20\n30\n"
    replayed = nbtrack.get_run(result.run_id, url)
    assert replayed.state.metrics["total"].last == 12.0 and replayed.state.cwd == os.fspath(work)
