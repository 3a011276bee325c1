"""Replays executed by papermill in real kernels, against real tracked originals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import nbtrack
from nbtrack.core.reproduce import DIFFERENT, DIFFERS, FAILED, IDENTICAL, NOT_RUN, REPRODUCED
from nbtrack.replay import ReplayRefused, replay
from nbtrack.replay.report import render
from tests.replay.originals import ROOT, execute_interactively, execute_original

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "import sys; from nbtrack.cli import main; sys.exit(main())"]


def cell_status(report, fragment: str) -> str:
    return next(c.status for c in report.cells if fragment in c.source)


def test_seeded_run_reproduces(seeded_run: tuple[str, Path, Path]) -> None:
    run_id, store, _folder = seeded_run
    seen: list[tuple[int, int]] = []
    result = replay(run_id, store=store, progress=lambda done, total: seen.append((done, total)))
    report = result.report
    assert report.verdict == REPRODUCED, "\n".join(render(report))
    assert result.exit_code == 0
    assert {c.status for c in report.cells} == {IDENTICAL}
    assert any("test accuracy" in c.source or "model.fit" in c.source for c in report.cells)
    assert [m["key"] for m in report.metrics] == ["test_acc"] and report.metrics[0]["agree"]
    assert report.data[0]["status"] == "same" and report.data[0]["path"].endswith("digits.csv")
    assert seen[-1][0] == seen[-1][1] and len(seen) == seen[-1][1]  # one call per executed cell
    # the replay is a run of its own, linked to its origin, with the report stored beside it
    replayed = nbtrack.get_run(result.run_id, store)
    assert replayed.state.replay_of == run_id and replayed.status == "finished"
    assert replayed.state.report["verdict"] == REPRODUCED
    stored = replayed.store.get_json(replayed.state.report["sha256"])
    assert stored == report.to_dict()
    assert replayed.params == nbtrack.get_run(run_id, store).params
    executed = nbformat.read(result.output_path, as_version=4)
    assert executed.metadata["papermill"]["input_path"] == f"nbtrack run {run_id} (notebook order)"
    assert executed.metadata["nbtrack"] == {"replay_of": run_id, "order": "notebook"}
    assert any("test accuracy" in "".join(o.get("text", "")) for c in executed.cells for o in c.get("outputs", []))


def test_parameter_override_changes_the_result_and_is_recorded(seeded_run: tuple[str, Path, Path]) -> None:
    run_id, store, _folder = seeded_run
    result = replay(run_id, {"n_estimators": 2, "seed": 3}, store=store, out=_folder / "override.ipynb")
    replayed = nbtrack.get_run(result.run_id, store)
    assert replayed.params["n_estimators"] == 2 and replayed.params["seed"] == 3
    assert replayed.params["data_path"] == "digits.csv"
    assert result.report.verdict == DIFFERS and result.exit_code == 1
    assert result.report.parameters == {"n_estimators": 2, "seed": 3}
    metric = result.report.metrics[0]
    assert metric["key"] == "test_acc" and not metric["agree"] and metric["cause"] == "parameters"
    assert cell_status(result.report, "model = RandomForestClassifier") == DIFFERENT
    assert {c.cause for c in result.report.cells if c.status == DIFFERENT} == {"parameters"}
    executed = nbformat.read(_folder / "override.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "n_estimators = 2" in injected[0].source


def test_unseeded_draws_reproduce_with_the_original_random_state_and_differ_fresh(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run_id = execute_original("replay_unseeded", tmp_path, store)
    restored = replay(run_id, store=store).report
    assert restored.verdict == REPRODUCED and restored.rng == "restored"
    assert cell_status(restored, "random.random()") == IDENTICAL
    assert {m["key"]: m["agree"] for m in restored.metrics} == {"draw": True}
    assert restored.hash_seed == "0"  # the original's was random: a fixed one, recorded
    fresh = replay(run_id, store=store, rng="fresh")
    report = fresh.report
    assert report.verdict == DIFFERS and fresh.exit_code == 1
    assert cell_status(report, "print('constant', 42)") == IDENTICAL
    differing = [c for c in report.cells if c.status == DIFFERENT]
    assert len(differing) == 1 and "draw" in differing[0].differences[0]
    assert differing[0].cause == "randomness"
    assert [(m["key"], m["agree"], m["cause"]) for m in report.metrics] == [("draw", False, "randomness")]


def test_unseeded_numpy_generators_reproduce_and_differ_fresh(tmp_path: Path) -> None:
    # default_rng(), PCG64(), RandomState() without a seed, in the notebook and inside a function
    store = tmp_path / "store"
    run_id = execute_original("replay_unseeded_numpy", tmp_path, store)
    restored = replay(run_id, store=store).report
    assert restored.verdict == REPRODUCED, "\n".join(render(restored))
    assert {m["key"]: m["agree"] for m in restored.metrics} == {"score": True}
    fresh = replay(run_id, store=store, rng="fresh").report
    differing = {c.source.splitlines()[0] for c in fresh.cells if c.status == DIFFERENT}
    assert differing == {"noise = np.random.default_rng().normal(size=3)",
                         "print('pcg64', np.random.Generator(np.random.PCG64()).integers(1_000_000))",
                         "score = float(jitter(4).sum())"}
    assert {c.cause for c in fresh.cells if c.status == DIFFERENT} == {"randomness"}


def test_two_cells_with_the_same_source_keep_their_own_outputs(tmp_path: Path) -> None:
    # papermill tells the kernel no cell ids: the two `total` cells are told apart by what ran when
    store = tmp_path / "store"
    run_id = execute_original("replay_same_source", tmp_path, store)
    snapshot = nbtrack.get_run(run_id, store).notebook()
    shown = [(c.execution_count, c.outputs[0]["data"]["text/plain"]) for c in snapshot.cells if c.source == "total"]
    assert shown == [(3, "1"), (5, "11")]
    report = replay(run_id, store=store).report
    assert report.verdict == REPRODUCED, "\n".join(render(report))


def test_executed_order_reproduces_what_top_to_bottom_does_not(tmp_path: Path) -> None:
    store = tmp_path / "store"
    # start, total = 0, total += 10, total += 10 again (the cell was re-run), log, stop
    run_id = execute_interactively("replay_rerun", tmp_path, store, [0, 1, 2, 2, 3, 4])
    assert nbtrack.get_run(run_id, store).state.metrics["total"].last == 20
    as_run = replay(run_id, store=store, order="executed")
    assert as_run.report.verdict == REPRODUCED, as_run.report.to_dict()
    assert nbtrack.get_run(as_run.run_id, store).state.metrics["total"].last == 20
    executed = nbformat.read(as_run.output_path, as_version=4)
    assert [c.source for c in executed.cells].count("total += 10\nprint('total', total)") == 2
    top_down = replay(run_id, store=store, order="notebook")
    assert top_down.report.verdict == DIFFERS
    assert {m["key"]: (m["original"], m["replay"]) for m in top_down.report.metrics} == {"total": (20.0, 10.0)}
    assert cell_status(top_down.report, "print('final', total)") == DIFFERENT


def test_a_snapshot_without_its_start_cell_is_wrapped_in_tracking(tmp_path: Path) -> None:
    store = tmp_path / "store"
    # the %nbtrack start cell ran, then was deleted before %nbtrack stop took the snapshot
    run_id = execute_interactively("replay_rerun", tmp_path, store, [0, 1, 2, 3, 4], deleted=[0])
    assert "%nbtrack start" not in "".join(c.source for c in nbtrack.get_run(run_id, store).notebook().cells)
    result = replay(run_id, store=store)
    executed = nbformat.read(result.output_path, as_version=4)
    added = [c for c in executed.cells if c.metadata.get("tags") == ["nbtrack-replay"]]
    assert executed.cells[: len(added) - 1] == added[:-1]  # at the top (random state restore, start)
    assert "%nbtrack start" in added[-2].source and added[-1] == executed.cells[-1]
    assert "restore" in added[0].source and not added[0].outputs  # the restore shows nothing
    assert result.report.verdict == REPRODUCED, result.report.to_dict()
    replayed = nbtrack.get_run(result.run_id, store)
    assert replayed.state.replay_of == run_id and replayed.name == "rerun"
    assert replayed.state.metrics["total"].last == 10


def test_kernel_dying_mid_replay_fails_and_keeps_partial_output(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run_id = execute_original("replay_kernel_dies", tmp_path, store)  # the kernel dies only when replayed
    result = replay(run_id, store=store, out=tmp_path / "partial.ipynb")
    report = result.report
    assert report.verdict == FAILED and result.exit_code == 3
    assert "Kernel died" in report.error or "DeadKernel" in report.error
    assert cell_status(report, "before the crash") == IDENTICAL
    assert cell_status(report, "after the crash") == NOT_RUN
    partial = nbformat.read(tmp_path / "partial.ipynb", as_version=4)
    assert any("before the crash" in "".join(o.get("text", "")) for c in partial.cells for o in c.get("outputs", []))
    replayed = nbtrack.get_run(result.run_id, store)
    assert replayed.state.replay_of == run_id
    assert replayed.state.report["verdict"] == FAILED


def test_a_kernel_that_never_starts_is_recorded_as_a_failed_replay(seeded_run: tuple[str, Path, Path]) -> None:
    run_id, store, folder = seeded_run
    result = replay(run_id, store=store, kernel="no-such-kernel", out=folder / "never.ipynb")
    assert result.report.verdict == FAILED and result.exit_code == 3
    assert "no-such-kernel" in result.report.error
    assert {c.status for c in result.report.cells} == {NOT_RUN}
    failed = nbtrack.get_run(result.run_id, store)  # recorded here, since no kernel could
    assert failed.status == "failed" and failed.state.replay_of == run_id
    assert failed.state.report["verdict"] == FAILED


def test_cli_replays_prints_the_report_and_asks_before_running_others_code(
    seeded_run: tuple[str, Path, Path], child_env: dict[str, str]
) -> None:
    run_id, store, folder = seeded_run
    env = dict(child_env, NBTRACK_USER="someone else")
    refused = subprocess.run([*CLI, "--store", str(store), "replay", run_id[:8]],
                             capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert refused.returncode == 2
    assert "recorded by tester" in refused.stderr and "--yes" in refused.stderr
    done = subprocess.run([*CLI, "--store", str(store), "replay", run_id, "--yes",
                           "--json", "--out", str(folder / "cli.ipynb")],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["report"]["verdict"] == REPRODUCED and payload["exit_code"] == 0
    assert nbtrack.get_run(payload["run_id"], store).state.replay_of == run_id


def test_api_refuses_someone_elses_run_without_confirmation(seeded_run: tuple[str, Path, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    run_id, store, _folder = seeded_run
    monkeypatch.setenv("NBTRACK_USER", "someone else")
    with pytest.raises(ReplayRefused, match="recorded by tester"):
        replay(run_id, store=store, yes=False)


def execute_cells(sources: list[str], folder: Path, store: Path, raises: int | None = None) -> str:
    """A notebook of `sources` (cell `raises` tagged raises-exception) run by papermill under
    tracking, as a user would; returns the run id."""
    import papermill

    from tests.replay.originals import newest_run

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if raises is not None:
        nb.cells[raises].metadata["tags"] = ["raises-exception"]
    source, output = folder / "cells.in.ipynb", folder / "cells.ipynb"
    nbformat.write(nb, source)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NBTRACK_STORE", str(store))
        patch.setenv("NBTRACK_NOTEBOOK", str(output))
        try:
            papermill.execute_notebook(str(source), str(output), kernel_name="python3", cwd=str(folder),
                                       progress_bar=False)
        except papermill.PapermillExecutionError:
            assert raises is not None  # papermill raises for a tagged cell too, after running them all
    return newest_run(store)


def test_a_cell_tagged_raises_exception_raises_again_and_the_replay_reproduces(tmp_path: Path) -> None:
    run_id = execute_cells(['%load_ext nbtrack\n%nbtrack start "raises"', "raise ValueError('on purpose')",
                            "print('after the raise')", "%nbtrack stop"], tmp_path, tmp_path / "store", raises=1)
    report = replay(run_id, store=tmp_path / "store").report
    assert report.verdict == REPRODUCED and report.error is None, report.to_dict()
    assert cell_status(report, "print('after the raise')") == IDENTICAL


def test_a_redacted_secret_is_named_in_the_report_and_supplied_by_its_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    run_id = execute_cells(['%load_ext nbtrack\n%nbtrack start "secret"', 'api_key = "sk-live-4f9a8b7c6d5e4f3a2b1c"',
                            "print('key length', len(api_key))", "%nbtrack stop"], tmp_path, store)
    monkeypatch.delenv("API_KEY", raising=False)
    report = replay(run_id, store=store).report
    assert report.verdict == DIFFERS
    differing = [c for c in report.cells if c.status == DIFFERENT]
    assert [(c.source, c.cause) for c in differing] == [("print('key length', len(api_key))", "secret removed")]
    assert "$API_KEY" in (differing[0].cause_detail or "")  # removed from the cell before, used here
    assert [c.secrets for c in report.cells if c.source.startswith("api_key")] == [["API_KEY"]]
    assert "set $API_KEY" in "\n".join(render(report))
    monkeypatch.setenv("API_KEY", "sk-live-4f9a8b7c6d5e4f3a2b1c")
    supplied = replay(run_id, store=store)
    assert supplied.report.verdict == REPRODUCED, supplied.report.to_dict()
    assert "sk-live" not in json.dumps(nbtrack.get_run(supplied.run_id, store).cells)  # redacted again
