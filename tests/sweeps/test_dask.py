"""Sweeps and batch replays on a real Dask cluster: a `dask scheduler` and two `dask worker`
processes on loopback, started here, sharing an S3-protocol store (moto). The grid's runs equal a
sequential papermill execution's; a worker killed mid-trial leaves a crashed run and the trial
runs again; a store on this machine's disk is refused; a batch replay names the run that did not
reproduce."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest

import nbtrack
from nbtrack.core import records
from nbtrack.store.store import open_store
from nbtrack.store.sweeps import SweepRecord
from tests.sweeps.conftest import NOTEBOOK, ROOT, cli, only_sweep, progress_of, start_cli, wait_for_trial_run

pytestmark = pytest.mark.slow

ALPHAS, EPOCHS = (0.0001, 0.001, 0.01, 0.1), (1, 2, 3)


def _final(run: Any) -> dict[str, float]:
    return {key: figures["last"] for key, figures in run.row().metrics.items()}


def test_a_12_trial_grid_on_two_workers_equals_a_sequential_execution(dask_cluster, s3_server, tmp_path: Path):
    url = s3_server.url()
    driver = start_cli("--store", url, "sweep", str(NOTEBOOK), "-g", "alpha=" + ",".join(map(str, ALPHAS)),
                       "-g", "epochs=" + ",".join(map(str, EPOCHS)), "--cluster", dask_cluster.address, "--cwd",
                       str(tmp_path), "--tag", "grid", "--json")
    sequential = tmp_path / "sequential-store"
    try:
        for alpha in ALPHAS:  # meanwhile the same notebook, one papermill run after the other, tracked elsewhere
            for epochs in EPOCHS:
                out = tmp_path / f"seq-{alpha}-{epochs}.ipynb"
                os.environ.update(NBTRACK_STORE=str(sequential), NBTRACK_NOTEBOOK=str(out))
                try:
                    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"alpha": alpha, "epochs": epochs},
                                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
                finally:
                    del os.environ["NBTRACK_STORE"], os.environ["NBTRACK_NOTEBOOK"]
    except BaseException:
        driver.kill()
        raise
    out, err = driver.communicate(timeout=600)
    assert driver.returncode == 0, err
    progress = json.loads(out)
    assert progress["status"] == "finished" and progress["done"] == progress["total"] == 12
    store = open_store(url)
    swept = {(t["params"]["alpha"], t["params"]["epochs"]): nbtrack.get_run(t["run"], store)
             for t in progress["trials"]}
    assert len({r.id for r in swept.values()}) == 12
    workers = {a["pid"] for t in only_sweep(store).state().trials.values() for a in map(vars, t.attempts)}
    assert len(workers) == 2  # both workers ran trials
    listed = nbtrack.runs(f"sweep={progress['id']}", store=store)
    assert sorted(listed["id"]) == sorted(r.id for r in swept.values())  # `nbtrack runs sweep=ID`

    baseline = {(r.params["alpha"], r.params["epochs"]): r for r in map(
        lambda run_id: nbtrack.get_run(run_id, str(sequential)), nbtrack.runs(store=str(sequential))["id"])}
    assert set(baseline) == set(swept)
    for key, run in swept.items():
        assert run.params == baseline[key].params
        assert _final(run) == _final(baseline[key]), key
        assert run.status == "finished" and "grid" in run.tags


def test_a_worker_killed_mid_trial_leaves_a_crashed_run_and_the_trial_runs_again(dask_cluster, s3_server,
                                                                                   tmp_path: Path):
    dask_cluster.wait_for_workers(2)  # a worker killed by an earlier run of this test has come back
    url = s3_server.url()
    store = open_store(url)
    driver = start_cli("--store", url, "sweep", str(NOTEBOOK), "-g", "alpha=0.001", "-p", "epochs", "3",
                       "-p", "pause", "2", "--cluster", dask_cluster.address, "--cwd", str(tmp_path), "--json")
    first = wait_for_trial_run(store, 0)
    os.kill(first.pid, signal.SIGKILL)  # the dask worker process running the trial (its nanny restarts it)
    out, err = driver.communicate(timeout=600)
    assert driver.returncode == 0, err
    [trial] = json.loads(out)["trials"]
    assert [a["status"] for a in trial["attempts"]] == ["crashed", "finished"]
    assert trial["attempts"][0]["run"] == first.run and trial["status"] == "finished"
    assert nbtrack.get_run(first.run, store).status == "crashed"  # its kernel died with its worker
    retried = nbtrack.get_run(trial["run"], store)
    assert retried.status == "finished" and retried.params["alpha"] == 0.001
    assert "crashed" in err  # the driver said so
    statuses = sorted(nbtrack.runs(f"sweep={only_sweep(store).id}", store=store)["status"])
    assert statuses == ["crashed", "finished"]


def test_a_store_the_workers_cannot_share_is_refused_and_nothing_runs(dask_cluster, tmp_path: Path):
    result = cli("--store", str(tmp_path / "store"), "sweep", str(NOTEBOOK), "-g", "alpha=0.1", "--cluster",
                 dask_cluster.address)
    assert result.returncode == 2
    assert "cannot use the Dask cluster" in result.stderr and "on this machine's own disk" in result.stderr
    assert not (tmp_path / "store" / "sweeps").exists()  # nothing was recorded, nothing ran
    replayed = cli("--store", "memory://alone", "replay", "--filter", "status=finished", "--cluster",
                   dask_cluster.address)
    assert replayed.returncode == 2 and "lives inside one process" in replayed.stderr


def test_batch_replay_on_the_cluster_names_the_run_that_did_not_reproduce(dask_cluster, s3_server, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch):
    url = s3_server.url()
    monkeypatch.setenv("NBTRACK_DASK_SCHEDULER", dask_cluster.address)  # no --cluster: the environment says
    made = cli("--store", url, "sweep", str(NOTEBOOK), "-g", "alpha=0.001,0.1", "-p", "epochs", "1",
               "--tag", "guard", "--cwd", str(tmp_path), "--json")
    assert made.returncode == 0, made.stderr
    assert SweepRecord(open_store(url), progress_of(made)["id"]).state().session["executor"] == "dask"
    # a draw from the OS's entropy: no generator state a replay could restore, so it draws another number
    source = nbformat.read(ROOT / "tests" / "notebooks" / "replay_unseeded.ipynb", as_version=4)
    for cell in source.cells:
        cell.source = cell.source.replace("random.random()", "random.SystemRandom().random()")
    planted_notebook = tmp_path / "unseeded-source.ipynb"
    nbformat.write(source, planted_notebook)
    out = tmp_path / "unseeded.ipynb"
    os.environ.update(NBTRACK_STORE=url, NBTRACK_NOTEBOOK=str(out))
    try:
        papermill.execute_notebook(str(planted_notebook), str(out),
                                   kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    finally:
        del os.environ["NBTRACK_STORE"], os.environ["NBTRACK_NOTEBOOK"]
    store = open_store(url)
    planted = nbtrack.runs("name~unseeded", store=store)["id"].iloc[0]
    store.annotate(planted, records.tags(["guard"]))
    refused = cli("--store", url, "replay", "--filter", "tag=guard", "--cluster", dask_cluster.address)
    assert refused.returncode == 2 and "pass --yes" in refused.stderr  # a bucket cannot tell whose runs these are
    result = cli("--store", url, "replay", "--filter", "tag=guard", "--cluster", dask_cluster.address, "--yes")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines[2:] if line[:1].isalnum() and len(line.split()[0]) == 16}
    assert len(rows) == 3
    assert "differs" in rows[planted] and "draw" in rows[planted]  # what differs: its printed draw or metric
    assert "(randomness)" in rows[planted]  # and why
    assert sum("reproduced" in line for run, line in rows.items() if run != planted) == 2
    assert lines[-1] == f"2 of 3 reproduced; not reproduced: {planted}"
    replays = nbtrack.runs(f"replay_of={planted}", store=store)
    assert len(replays) == 1  # the replay is a run of its own, linked to its original
