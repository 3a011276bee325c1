"""nbtrack <-> MLflow through MLflow's own client: a sqlite file, a folder store and a real
``mlflow server`` on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

import nbtrack
from nbtrack.cli import main
from nbtrack.core import records
from nbtrack.core.redact import Redactor
from nbtrack.core.snapshot import SnapshotWriter
from tests.servers import free_port, wait_for_http

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402

PARAMS = {"lr": 0.01, "epochs": 3, "optimizer": "adam", "layers": [2, 3], "flag": True, "code": "42", "none": None}


def _nbtrack_run(store: str) -> str:
    with nbtrack.start("baseline", tags=["faces", "split=a"], note="does it transfer?", params=PARAMS,
                       store=store) as run:
        for step in range(5):
            run.log(step, loss=1.0 / (step + 1), acc=step / 10)
        run.log(10, loss=float("nan"))
        run.log_artifact(b"weights", "model/weights.bin")
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('trained')")])
        manifest, cells = SnapshotWriter(run.store.put_blob, Redactor()).store(notebook)  # as capture stores one
        run.write(records.snapshot(manifest, cells, "stop", "disk", "train.ipynb"))
    return run.id


def _points(run: nbtrack.Run) -> dict[str, list[tuple[float, float, int]]]:
    """Every metric point as (step, value, time in ms), by key (NaN as None to compare)."""
    out: dict[str, list[tuple[float, float, int]]] = {}
    for row in run.metrics.itertuples():
        value = None if row.value != row.value else row.value
        out.setdefault(row.key, []).append((row.step, value, int(row.time * 1000)))
    return {k: sorted(v, key=lambda p: (p[0], p[2])) for k, v in out.items()}


def _round_trip(tmp_path: Path, uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    original = nbtrack.get_run(_nbtrack_run(first), store=first)
    assert main(["--store", first, "export", "--to", "mlflow", uri]) == 0
    assert "1 new runs" in capsys.readouterr().out
    assert main(["--store", first, "export", "--to", "mlflow", uri, original.id[:8]]) == 0
    assert "0 new runs, 1 already there" in capsys.readouterr().out
    (exported,) = MlflowClient(uri).search_runs([MlflowClient(uri).get_experiment_by_name("nbtrack").experiment_id])
    assert exported.data.tags["nbtrack.run_id"] == original.id and exported.data.params["code"] == '"42"'

    assert main(["--store", second, "import", "--from", "mlflow", uri, "--experiment", "nbtrack"]) == 0
    assert "1 new runs" in capsys.readouterr().out
    assert main(["--store", second, "import", "--from", "mlflow", uri]) == 0
    assert "0 new runs, 1 already there" in capsys.readouterr().out
    assert main(["--store", first, "import", "--from", "mlflow", uri]) == 0  # back where it came from
    assert "0 new runs, 1 already there" in capsys.readouterr().out
    assert len(nbtrack.runs(store=first)) == 1

    (copy_id,) = nbtrack.runs(store=second)["id"]
    copy = nbtrack.get_run(copy_id, store=second)
    assert copy.params == original.params == PARAMS
    assert _points(copy) == _points(original)
    assert sorted(copy.tags) == sorted(original.tags) and copy.notes == original.notes
    assert (copy.name, copy.status) == (original.name, "finished")
    assert int(copy.state.started * 1000) == int(original.state.started * 1000)
    assert copy.artifact("model/weights.bin") == b"weights"
    notebook = nbformat.reads(copy.artifact("nbtrack/notebook.ipynb").decode(), as_version=4)
    assert [c.source for c in notebook.cells] == ["print('trained')"]
    assert copy.state.origin["system"] == "mlflow" and copy.state.origin["nbtrack_run"] == original.id
    assert copy.state.origin["id"] == exported.info.run_id


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow sqlite database, its schema made once (MLflow's migrations take seconds)."""
    path = tmp_path_factory.mktemp("mlflow") / "empty.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def test_round_trip_through_a_sqlite_file(tmp_path: Path, empty_database: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(empty_database, tmp_path / "mlflow.db")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    _round_trip(tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}", capsys)
    assert list((tmp_path / "elsewhere").iterdir()) == []  # artifacts beside the database, not in the cwd
    assert [p.name for p in (tmp_path / "mlartifacts").rglob("*.bin")] == ["weights.bin"]


@pytest.fixture
def mlflow_server(tmp_path: Path, empty_database: Path) -> Iterator[str]:
    """A real ``mlflow server`` (its own process group: it starts workers) on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    shutil.copy(empty_database, tmp_path / "server.db")
    with open(tmp_path / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
             "--artifacts-destination", str(tmp_path / "server-artifacts")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"{url}/health", process, timeout=120)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.slow
def test_round_trip_through_a_real_mlflow_server(tmp_path: Path, mlflow_server: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _round_trip(tmp_path, mlflow_server, capsys)


def test_a_folder_store_written_by_mlflow_imports_with_every_point(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 writes folder stores only when told to
    client = MlflowClient(folder.as_uri())
    experiment = client.create_experiment("native")
    parent = client.create_run(experiment, run_name="sweep", tags={"team": "vision", "mlflow.note.content": "hi"})
    pid = parent.info.run_id
    client.log_param(pid, "lr", "0.001")
    client.log_param(pid, "optimizer", "sgd")
    points = [Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i) for i in range(2500)]
    points += [Metric("loss", 0.5, 1_700_000_100_000, 7)]  # a second point at one step: both are kept
    for start in range(0, len(points), 1000):
        client.log_batch(pid, metrics=points[start:start + 1000])
    client.log_text(pid, "notes", "reports/summary.txt")
    client.set_terminated(pid, "FINISHED")
    child = client.create_run(experiment, run_name="trial", tags={"mlflow.parentRunId": pid})
    client.log_metric(child.info.run_id, "acc", 0.5, step=0)
    client.set_terminated(child.info.run_id, "FAILED")
    running = client.create_run(experiment, run_name="still going")

    store = str(tmp_path / "store")
    assert main(["--store", store, "import", "--from", "mlflow", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "2 new runs" in out and running.info.run_id in err and "running" in err
    frame = nbtrack.runs(store=store)
    (sweep_id,) = frame[frame["name"] == "sweep"]["id"]
    sweep = nbtrack.get_run(sweep_id, store=store)
    assert sweep.params == {"lr": 0.001, "optimizer": "sgd"}
    loss = sweep.metrics[sweep.metrics["key"] == "loss"]
    assert len(loss) == 2501
    assert sorted(zip(loss["step"], loss["value"])) == sorted((m.step, m.value) for m in points)
    assert sorted(loss["time"])[0] == pytest.approx(1_700_000_000.0)
    assert sweep.tags == ["team=vision"] and sweep.notes == ["hi"]
    assert sweep.artifact("reports/summary.txt") == b"notes"
    assert sweep.state.origin == {"system": "mlflow", "id": pid, "uri": folder.as_uri(), "experiment": "native"}
    (trial_id,) = frame[frame["name"] == "trial"]["id"]
    trial = nbtrack.get_run(trial_id, store=store)
    assert trial.status == "failed" and trial.state.parent == sweep_id

    assert main(["--store", store, "import", "--from", "mlflow", str(folder), "--experiment", "nope"]) == 2
    assert "no MLflow experiment named 'nope'" in capsys.readouterr().err
    client.set_terminated(running.info.run_id, "FINISHED")  # once it ended, a new import brings it
    assert main(["--store", store, "import", "--from", "mlflow", str(folder)]) == 0
    assert "1 new runs, 2 already there" in capsys.readouterr().out
