"""Overhead of ``nbtrack.replay`` over a plain ``papermill.execute_notebook`` of the same notebook.

A tracked notebook (``%nbtrack start``, 12 cells that compute, print and ``log()``, ``%nbtrack
stop``) is executed once by papermill to make the original run. Then, alternately, ``repeats``
times each (3; quick: no kernels, see below), in the same child process:

- plain: ``papermill.execute_notebook`` of exactly the notebook replay executes (rebuilt from the
  snapshot by ``nbtrack.replay.build``), in the same kernel, with the same tracking;
- replay: ``nbtrack.replay(run)`` (build, environment check, data check, papermill execution,
  finding the replay run, the report, storing it).

Figures: the median of each, the overhead ``(replay - plain) / plain`` and the time of the
report alone (comparing every cell, metric, package and dataset again on the result). The
target is an overhead under 10 % plus the report's time. Kernel start-up varies by a few
hundred ms between runs, hence the alternation and medians. There are no peers: MLflow and
W&B do not replay notebooks. Quick mode starts no kernel: it only times the report on a
synthetic 200-cell comparison.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Row, lt, main, pick, run_isolated, scratch_dir

NAME = "replay_overhead"
CELLS = 12


def _notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cells = [
        nbformat.v4.new_code_cell("seed = 1\nn = 20000"),
        nbformat.v4.new_code_cell('%load_ext nbtrack\n%nbtrack start "bench"'),
    ]
    cells[0].metadata["tags"] = ["parameters"]
    cells.append(
        nbformat.v4.new_code_cell("import random\nimport nbtrack\nrng = random.Random(seed)")
    )
    for i in range(CELLS):
        cells.append(
            nbformat.v4.new_code_cell(
                f"values = [rng.random() for _ in range(n)]\nmean = sum(values) / n\n"
                f"nbtrack.log(step={i}, mean=mean)\nprint('step {i}', round(mean, 6))"
            )
        )
    cells.append(nbformat.v4.new_code_cell("%nbtrack stop"))
    nb.cells = cells
    nbformat.write(nb, path)


def _replay_case(repeats: int) -> dict[str, Any]:
    import papermill

    import nbtrack
    from nbtrack.core.reproduce import compare_metrics
    from nbtrack.replay.build import build
    from nbtrack.replay.report import (
        compare_cells,
        data_checks,
        environment_differences,
        final_metrics,
    )

    with scratch_dir() as folder:
        os.environ.update(
            NBTRACK_STORE=str(folder / "store"), NBTRACK_INDEX_DIR=str(folder / "index")
        )
        source = folder / "bench.ipynb"
        _notebook(source)
        os.environ["NBTRACK_NOTEBOOK"] = str(folder / "original.ipynb")
        papermill.execute_notebook(
            str(source),
            str(folder / "original.ipynb"),
            kernel_name="python3",
            cwd=str(folder),
            progress_bar=False,
        )
        del os.environ["NBTRACK_NOTEBOOK"]
        run_id = nbtrack.runs().id.iloc[-1]
        original = nbtrack.get_run(run_id)
        rebuilt = build(original.notebook(), original.cells, original.store.get_json).nb
        plain, replayed, reports = [], [], []
        for i in range(repeats):
            out = folder / f"plain-{i}.ipynb"
            os.environ.update(NBTRACK_REPLAY_OF=run_id, NBTRACK_NOTEBOOK=str(out))
            started = time.perf_counter()
            papermill.execute_notebook(
                rebuilt, str(out), kernel_name="python3", cwd=str(folder), progress_bar=False
            )
            plain.append(time.perf_counter() - started)
            for name in ("NBTRACK_REPLAY_OF", "NBTRACK_NOTEBOOK"):
                del os.environ[name]
            started = time.perf_counter()
            result = nbtrack.replay(run_id, out=folder / f"replay-{i}.ipynb", cwd=folder)
            replayed.append(time.perf_counter() - started)
            if result.report.verdict != "reproduced":
                raise RuntimeError(
                    f"the benchmark notebook did not reproduce: {result.report.to_dict()}"
                )
            reports.append(
                _report_seconds(
                    original,
                    nbtrack.get_run(result.run_id),
                    result.output_path,
                    build,
                    compare_cells,
                    compare_metrics,
                    final_metrics,
                    environment_differences,
                    data_checks,
                )
            )
    p, r = statistics.median(plain), statistics.median(replayed)
    return {
        "plain_s": p,
        "replay_s": r,
        "report_s": statistics.median(reports),
        "overhead": (r - p) / p,
    }


def _report_seconds(
    original: Any,
    replayed: Any,
    output: Path,
    build: Any,
    compare_cells: Any,
    compare_metrics: Any,
    final_metrics: Any,
    environment_differences: Any,
    data_checks: Any,
) -> float:
    import nbformat

    started = time.perf_counter()
    built = build(original.notebook(), original.cells, original.store.get_json)
    executed = nbformat.read(output, as_version=4)
    compare_cells(built, executed, None, 1e-6)
    compare_metrics(final_metrics(original.state), final_metrics(replayed.state), 1e-6)
    environment_differences(original.environment(), replayed.environment())
    data_checks(original.state, replayed.state, {}, {})
    return time.perf_counter() - started


def _report_only_case(cells: int) -> dict[str, Any]:
    from nbtrack.core.reproduce import compare_outputs

    outputs = [
        [
            {
                "output_type": "stream",
                "name": "stdout",
                "text": f"step {i} loss {0.1 * i:.12f} at 0x7f00{i:04x}\n" * 20,
            }
        ]
        for i in range(cells)
    ]
    started = time.perf_counter()
    for output in outputs:
        compare_outputs(output, output, 1e-6)
    return {"report_s": time.perf_counter() - started}


def measure(quick: bool = False) -> list[Row]:
    if quick:
        result = run_isolated("benchmarks.replay_overhead:_report_only_case", cells=200)
        return [
            Row(
                NAME,
                "report of 200 cells (quick: no kernels)",
                "ms",
                pick(result, "report_s", 1e3),
                note="quick mode: replay itself not measured",
            )
        ]
    result = run_isolated("benchmarks.replay_overhead:_replay_case", repeats=3)
    overhead, report, plain = (
        pick(result, "overhead", 100),
        pick(result, "report_s"),
        pick(result, "plain_s"),
    )
    allowed = None if report is None or plain is None else 10 + 100 * report / plain
    note = f"{CELLS + 4}-cell tracked notebook, median of 3 alternating runs; no peer replays notebooks"
    return [
        Row(NAME, "plain papermill.execute_notebook", "s", plain, note=note),
        Row(NAME, "nbtrack.replay", "s", pick(result, "replay_s"), floor=plain),
        Row(
            NAME,
            "replay overhead over papermill",
            "%",
            overhead,
            target=f"< 10 % + report ({allowed:.1f} %)" if allowed else "< 10 % + report",
            met=lt(overhead, allowed),
        ),
        Row(NAME, "report alone", "s", report),
    ]


if __name__ == "__main__":
    main(measure)
