"""Sweeps on the local process pool, as users run them: `nbtrack sweep` in a process of its own
(real kernels through papermill), cancelled from another process or with Ctrl-C, resumed; a random
search drawn again from its recorded seed; the Python API's DataFrame; an Optuna search."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

import nbtrack
from nbtrack.core.sweep_spec import make_spec, parse_dimension
from nbtrack.core.sweep_state import event
from nbtrack.store.store import Store
from tests.sweeps.conftest import NOTEBOOK, ROOT, cli, only_sweep, progress_of, start_cli, wait_for_trial_run

pytestmark = pytest.mark.slow


def test_cancel_stops_pending_trials_and_resume_runs_only_what_did_not_finish(local_store: Store, tmp_path: Path):
    # trial 0 fails at once (no epoch: its last cell raises NameError), trial 1 is slow, trial 2 waits
    driver = start_cli("--store", local_store.url, "sweep", str(NOTEBOOK), "-g", "epochs=0,2,1", "-p", "pause", "4",
                       "--workers", "1", "--no-progress", "--cwd", str(tmp_path), "--json")
    slow = wait_for_trial_run(local_store, 1)
    cancelled = cli("--store", local_store.url, "sweep", "--cancel", only_sweep(local_store).id)
    assert cancelled.returncode == 0, cancelled.stderr
    out, err = driver.communicate(timeout=300)
    assert driver.returncode == 1, err  # a failed trial, and a cancelled sweep
    first = json.loads(out)
    assert first["status"] == "cancelled"
    assert [t["status"] for t in first["trials"]] == ["failed", "finished", "cancelled"]
    assert first["trials"][1]["run"] == slow.run  # the running trial finished, recorded
    assert "NameError" in first["trials"][0]["error"]

    resumed = cli("--store", local_store.url, "sweep", "--resume", first["id"], "--workers", "2", "--json",
                  "--no-progress")
    again = progress_of(resumed)
    assert resumed.returncode == 1  # trial 0 fails again: the notebook, not the machine
    assert again["status"] == "failed"
    assert [t["status"] for t in again["trials"]] == ["failed", "finished", "finished"]
    assert [len(t["attempts"]) for t in again["trials"]] == [2, 1, 1]  # the finished trial did not run again
    assert again["trials"][1]["run"] == slow.run
    assert again["trials"][2]["params"] == {"pause": 4, "epochs": 1}
    runs = nbtrack.runs(f"sweep={first['id']}", store=local_store)
    assert sorted(runs["params.epochs"]) == [0, 0, 1, 2]  # one run per attempt, each tagged
    assert all(f"sweep:{first['id']}" in tags for tags in runs["tags"])


def test_ctrl_c_cancels_the_sweep_and_lets_the_running_trial_finish(local_store: Store, tmp_path: Path):
    driver = start_cli("--store", local_store.url, "sweep", str(NOTEBOOK), "-g", "epochs=2,1", "-p", "pause", "3",
                       "--workers", "1", "--no-progress", "--cwd", str(tmp_path), "--json")
    running = wait_for_trial_run(local_store, 0)
    driver.send_signal(signal.SIGINT)
    out, err = driver.communicate(timeout=300)
    assert driver.returncode == 1, err
    assert "interrupted" in err and json.loads(out)["status"] == "cancelled"
    state = only_sweep(local_store).state()
    assert state.status() == "cancelled"
    assert [c["reason"] for c in state.cancels] == ["interrupted (Ctrl-C)"]
    assert [state.trial_status(t) for t in state.trials.values()] == ["finished", "cancelled"]
    assert nbtrack.get_run(running.run, local_store).status == "finished"


def test_random_search_is_drawn_again_from_its_recorded_seed(local_store: Store, tmp_path: Path):
    dims = ["alpha=loguniform:0.00001:0.1", "epochs=choice:1,2"]
    swept = nbtrack.sweep(NOTEBOOK, {d.name: d for d in map(parse_dimension, dims)}, random=3, workers=2,
                          store=local_store, cwd=tmp_path, progress=False, name="random digits")
    assert swept.status == "finished" and swept.exit_code == 0
    state = swept.state()
    assert state.spec.search == "random" and state.spec.seed >= 0
    redrawn = make_spec([parse_dimension(d) for d in dims], random_count=3, seed=state.spec.seed).trials()
    trials = swept.trials
    assert list(trials["trial"]) == [0, 1, 2] and set(trials["status"]) == {"finished"}
    recorded = [nbtrack.get_run(run, local_store).params for run in trials["run"]]
    assert [{k: p[k] for k in ("alpha", "epochs")} for p in recorded] == redrawn  # what the kernels ran
    assert list(trials["params.alpha"]) == [t["alpha"] for t in redrawn]
    assert trials["metrics.val_acc"].between(0, 1).all()
    assert set(swept.runs()["id"]) == set(trials["run"])
    other = make_spec([parse_dimension(d) for d in dims], random_count=3, seed=state.spec.seed + 1).trials()
    assert other != redrawn


def test_optuna_search_asks_within_the_space_and_finds_the_best(local_store: Store, tmp_path: Path):
    pytest.importorskip("optuna")
    result = cli("--store", local_store.url, "sweep", str(NOTEBOOK), "--search", "optuna", "--trials", "3",
                 "-g", "alpha=loguniform:0.0001:0.1", "-g", "epochs=1,2", "--objective", "val_acc:max",
                 "--seed", "3", "--workers", "2", "--cwd", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    progress = progress_of(result)
    assert progress["search"] == "optuna" and progress["seed"] == 3 and progress["total"] == 3
    values = [t["value"] for t in progress["trials"]]
    assert all(0 < v <= 1 for v in values)
    assert progress["best"]["value"] == max(values)
    for trial in progress["trials"]:
        assert 0.0001 <= trial["params"]["alpha"] <= 0.1 and trial["params"]["epochs"] in (1, 2)


def test_a_notebook_without_parameters_cell_or_tracking_is_still_one_run_per_trial(local_store: Store,
                                                                                   tmp_path: Path):
    import nbformat

    plain = tmp_path / "plain.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("import nbtrack\nnbtrack.log(y=x * 10)")]
    nbformat.write(nb, plain)
    result = cli("--store", local_store.url, "sweep", str(plain), "-g", "x=2,3", "--workers", "2", "--json",
                 "--name", "plain <b>")
    assert result.returncode == 0, result.stderr
    trials = progress_of(result)["trials"]
    assert [t["metrics"] for t in trials] == [{"y": 20.0}, {"y": 30.0}]
    assert [nbtrack.get_run(t["run"], local_store).name for t in trials] == ["plain <b> #0", "plain <b> #1"]


def test_a_kernel_that_dies_before_it_starts_is_a_crash_and_the_trial_runs_again(local_store: Store,
                                                                                 tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch):
    # a kernelspec whose first start exits at once (as a kernel that lost a port race does), then works
    marker, launcher = tmp_path / "died-once", tmp_path / "flaky_kernel.py"
    launcher.write_text("import os, sys\n"
                        f"if not os.path.exists({str(marker)!r}):\n"
                        f"    open({str(marker)!r}, 'w').close()\n"
                        "    sys.exit(1)\n"
                        "os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', *sys.argv[1:]])\n")
    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, str(launcher), "-f", "{connection_file}"],
                                                  "display_name": "flaky", "language": "python"}))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    result = cli("--store", local_store.url, "sweep", str(NOTEBOOK), "-g", "epochs=1", "--kernel", "flaky",
                 "--workers", "1", "--json", "--no-progress", "--cwd", str(tmp_path))
    assert result.returncode == 0, result.stderr
    [trial] = progress_of(result)["trials"]
    assert trial["status"] == "finished"
    assert [a["status"] for a in trial["attempts"]] == ["crashed", "finished"]
    assert "Kernel died" in trial["attempts"][0]["error"]
    assert nbtrack.get_run(trial["attempts"][0]["run"], local_store).status == "crashed"
    assert "retrying" in result.stderr


def test_env_recreate_runs_each_trial_in_a_virtual_environment_of_the_starting_packages(
        local_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NBTRACK_ENV_DIR", str(tmp_path / "envs"))  # replay's builder, on the worker
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    import nbformat

    small = tmp_path / "small.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("import nbtrack\nnbtrack.log(y=x)")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, small)
    result = cli("--store", local_store.url, "sweep", str(small), "-g", "x=5", "--env", "recreate", "--workers", "1",
                 "--json", timeout=900)
    assert result.returncode == 0, result.stderr
    [trial] = progress_of(result)["trials"]
    assert trial["metrics"] == {"y": 5.0}
    environment = nbtrack.get_run(trial["run"], local_store).environment()
    assert environment["python"]["executable"].startswith(str(tmp_path / "envs"))


def test_a_trial_the_search_stops_has_its_kernel_interrupted_and_ends_pruned(local_store: Store, tmp_path: Path):
    # 3 epochs of 60 s each: the trial could not end on its own within the wait below (which leaves a
    # loaded machine two minutes to interrupt the kernel and end the sweep)
    driver = start_cli("--store", local_store.url, "sweep", str(NOTEBOOK), "-g", "epochs=3", "-p", "pause", "60",
                       "--workers", "1", "--no-progress", "--cwd", str(tmp_path), "--json")
    running = wait_for_trial_run(local_store, 0)
    only_sweep(local_store).write(event("stop", attempt=running.id, reason="pruned"))  # as the driver prunes
    out, err = driver.communicate(timeout=150)
    assert driver.returncode == 0, err  # a pruned trial is no failure
    [trial] = json.loads(out)["trials"]
    assert trial["status"] == "pruned" and trial["run"] == running.run
    logged = nbtrack.get_run(running.run, local_store).metrics
    assert len(logged[logged["key"] == "val_acc"]) < 3  # interrupted mid-training


def test_batch_replay_restores_random_state_unless_told_fresh(local_store: Store, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    import papermill

    out = tmp_path / "unseeded.ipynb"
    monkeypatch.setenv("NBTRACK_STORE", local_store.url)
    monkeypatch.setenv("NBTRACK_NOTEBOOK", str(out))
    papermill.execute_notebook(str(ROOT / "tests" / "notebooks" / "replay_unseeded.ipynb"), str(out),
                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    monkeypatch.delenv("NBTRACK_NOTEBOOK")
    [original] = nbtrack.runs(store=local_store)["id"]
    restored = cli("--store", local_store.url, "replay", "--filter", "name~unseeded", "--workers", "1", "--yes",
                   "--json")
    assert restored.returncode == 0, restored.stderr
    assert [row["verdict"] for row in json.loads(restored.stdout)] == ["reproduced"]
    fresh = cli("--store", local_store.url, "replay", "--filter", f"id={original}", "--workers", "1", "--yes",
                "--rng", "fresh", "--json")
    assert fresh.returncode == 1, fresh.stderr
    [row] = json.loads(fresh.stdout)
    assert row["verdict"] == "differs" and "(randomness)" in row["cause"]


def test_a_trial_replays_with_its_own_hash_seed(local_store: Store, tmp_path: Path):
    import nbformat

    # the order of a set of strings follows the kernel's hash seed: a replay must set the trial's
    words = ", ".join(f"'w{i}'" for i in range(20))
    notebook = tmp_path / "hashed.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(f"print(list({{{words}}}), x)")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, notebook)
    made = cli("--store", local_store.url, "sweep", str(notebook), "-g", "x=1,2", "--workers", "1", "--json",
               "--no-progress")
    assert made.returncode == 0, made.stderr
    runs = [nbtrack.get_run(t["run"], local_store) for t in progress_of(made)["trials"]]
    seeds = [run.records[0]["hash_seed"] for run in runs]
    assert all(seed.isdigit() for seed in seeds) and seeds[0] != seeds[1]  # drawn per trial, recorded
    replayed = cli("--store", local_store.url, "replay", runs[0].id, "--yes", "--json", "--no-progress")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    report = json.loads(replayed.stdout)["report"]
    assert report["verdict"] == "reproduced" and report["hash_seed"] == seeds[0]
