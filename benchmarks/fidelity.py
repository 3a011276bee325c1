"""Replay fidelity on the corpus of third-party notebooks (``benchmarks/corpus``).

Each notebook is executed with papermill under tracking (a first cell ``%load_ext nbtrack`` /
``%nbtrack start``, a last cell ``%nbtrack stop``, as a user adds them), then replayed with
``nbtrack.replay`` (random state restored unless ``--rng fresh``). Printed per notebook and in
all:

* **reproduced**: the replay's verdict is "reproduced" (or within tolerance);
* **false differences**: cells the replay reports different although plain executions agree
  (the corpus baseline, ``manifest.json``, holds two): nbtrack's own doing. Two executions can
  agree by chance on a cell that is not deterministic, so a cell that would count as false is
  first executed plainly ``CONFIRM_RUNS`` more times; if those disagree among themselves or with
  the baseline, it is counted as nondeterministic outside nbtrack, not as false (and printed);
* **caused**: the share of differences (cells and metrics) with a cause other than ``unknown``.

Targets: >= 95% reproduced with random state restored, 0 false differences, 100% caused.

    .venv/bin/python benchmarks/fidelity.py                      # all notebooks
    .venv/bin/python benchmarks/fidelity.py --subset fast        # the fast subset
    .venv/bin/python benchmarks/fidelity.py --only 17_,39_ --check-determinism --rng fresh

Needs ``benchmarks/corpus/requirements.txt`` installed in the venv that runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import entries  # noqa: E402

REPRODUCED = ("reproduced", "reproduced within tolerance")


def tracked_copy(source: Path, target: Path, name: str) -> None:
    """`source` with a tracking start cell first and a stop cell last."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    start = nbformat.v4.new_code_cell(f'%load_ext nbtrack\n%nbtrack start "{name}"')
    stop = nbformat.v4.new_code_cell("%nbtrack stop")
    start.id, stop.id = "nbtrack-start", "nbtrack-stop"
    nb.cells = [start, *nb.cells, stop]
    nbformat.write(nb, target)


def track(entry: dict[str, Any], folder: Path, store: Path, timeout: float = 900) -> str | None:
    """Run the notebook with papermill under tracking in `folder`; the run id (None: failed)."""
    from nbtrack.store.store import open_store

    name = Path(entry["file"]).stem
    source, output = folder / f"{name}.input.ipynb", folder / f"{name}.ipynb"
    tracked_copy(Path(entry["file"]), source, name)
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, NBTRACK_STORE=str(store), NBTRACK_NOTEBOOK=str(output),
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NBTRACK_REPLAY_OF", None)
    before = set(open_store(str(store)).run_ids()) if store.exists() else set()
    subprocess.run([sys.executable, "-m", "papermill", str(source), str(output), "-k", "python3", "--cwd",
                    str(folder), "--no-progress-bar"], env=env, cwd=folder, timeout=timeout,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    new = sorted(set(open_store(str(store)).run_ids()) - before) if store.exists() else []
    return new[-1] if new else None


def replay_run(run_id: str, store: Path, folder: Path, rng: str = "restored",
               check_determinism: bool = False) -> Any:
    """The replay's report (``nbtrack.core.reproduce.Report``)."""
    from nbtrack.replay.runner import replay

    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return replay(run_id, store=str(store), cwd=folder, yes=True, rng=rng,
                  check_determinism=check_determinism).report


CONFIRM_RUNS = 3  # plain executions that confirm a cell the baseline found deterministic


def plain_differing(entry: dict[str, Any], runs: int = CONFIRM_RUNS) -> set[str]:
    """Ids of the cells whose outputs differ among `runs` more plain executions of the notebook
    (and the baseline's first execution, when its copy is at hand): the same papermill and the
    same notion of "same output" as the baseline (``benchmarks/corpus/baseline.py``)."""
    from benchmarks.corpus import baseline

    notebook = Path(entry["file"])
    random = bool(baseline.RANDOM_TRAITS & set(entry.get("traits", [])))
    executed = [json.loads(p.read_text()) for p in [baseline.RUNS / f"{notebook.stem}.run1.ipynb"] if p.exists()]
    with tempfile.TemporaryDirectory(prefix="nbtrack-fidelity-plain-") as scratch:
        for i in range(runs):
            out = Path(scratch) / f"{notebook.stem}.{i}.ipynb"
            run = baseline.run_papermill(notebook, out, timeout=900)
            if baseline.completed(run, out):
                executed.append(json.loads(out.read_text()))
    return {d["id"] for other in executed[1:] for d in baseline.compare(executed[0], other, random)}


def score(entry: dict[str, Any], report: Any) -> dict[str, Any]:
    """What one replay says against the baseline of plain executions (confirmed, for a cell
    that would count as a false difference, by `plain_differing`)."""
    plain_differs = {c["id"] for c in (entry.get("baseline") or {}).get("differing_cells", [])}
    differing = [c for c in report.cells if c.status == "different"]
    metrics = [m for m in report.metrics if m.get("status") == "different"]
    false = [c for c in differing if c.cell_id not in plain_differs]
    unconfirmed = plain_differing(entry) if false else set()
    plain_only = [c.cell_id for c in false if c.cell_id in unconfirmed]
    false = [c for c in false if c.cell_id not in unconfirmed]
    causes = [c.cause or "unknown" for c in differing] + [m.get("cause") or "unknown" for m in metrics]
    return {"notebook": Path(entry["file"]).stem, "verdict": report.verdict, "error": report.error,
            "differences": len(causes), "caused": sum(1 for c in causes if c != "unknown"),
            "false": [{"cell": c.cell_id, "cause": c.cause, "diff": c.differences[:1]} for c in false],
            "plain_nondeterministic": plain_only,
            "cells": [{"cell": c.cell_id, "cause": c.cause, "detail": c.cause_detail, "diff": c.differences[:1]}
                      for c in differing],
            "causes": causes}


def measure_entries(chosen: list[dict[str, Any]], rng: str, check_determinism: bool,
                    say: Any = print) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="nbtrack-fidelity-") as scratch:
        os.environ.setdefault("NBTRACK_INDEX_DIR", os.path.join(scratch, "index"))
        os.environ.setdefault("NBTRACK_USER", "fidelity")
        store = Path(scratch) / "store"
        for entry in chosen:
            folder = Path(scratch) / Path(entry["file"]).stem
            folder.mkdir()
            started = time.perf_counter()
            run_id = track(entry, folder, store)
            if run_id is None:
                row = {"notebook": folder.name, "verdict": "not tracked", "error": "the original did not run",
                       "differences": 0, "caused": 0, "false": [], "causes": [], "cells": []}
            else:
                row = score(entry, replay_run(run_id, store, folder, rng, check_determinism))
            row["seconds"] = round(time.perf_counter() - started, 1)
            say(f"{row['notebook']:<45} {row['verdict']:<28} {row['differences']:>3} diffs "
                f"{row['caused']:>3} caused {len(row['false']):>2} false  {row['seconds']:>6}s  "
                + ", ".join(sorted(set(row["causes"]))))
            rows.append(row)
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = len(rows)
    differences = sum(r["differences"] for r in rows)
    return {
        "notebooks": total,
        "reproduced_pct": round(100 * sum(r["verdict"] in REPRODUCED for r in rows) / total, 1) if total else 0.0,
        "false_differences": sum(len(r["false"]) for r in rows),
        "differences": differences,
        "caused_pct": round(100 * sum(r["caused"] for r in rows) / differences, 1) if differences else 100.0,
        "seconds": round(sum(r["seconds"] for r in rows), 1),
    }


QUICK_NOTEBOOKS = 2


def measure(quick: bool = False) -> list[Any]:
    """Rows for ``benchmarks/run.py``: the fast subset (quick) or the whole corpus. Needs the
    corpus packages (an ImportError, reported as not measured, without them)."""
    from benchmarks._common import Row

    for module in ("sklearn", "statsmodels", "matplotlib"):
        __import__(module)
    chosen = entries("fast")[:QUICK_NOTEBOOKS] if quick else entries(None)  # quick: the suite's smoke test
    result = summary(measure_entries(chosen, "restored", False, say=lambda line: None))
    note = f"{result['notebooks']} corpus notebooks, random state restored"
    return [
        Row("fidelity", "not reproduced", "%", round(100 - result["reproduced_pct"], 1), target="<= 5 %",
            met=result["reproduced_pct"] >= 95, note=note),
        Row("fidelity", "false differences", "cells", result["false_differences"], target="0",
            met=result["false_differences"] == 0, note="cells differing where plain executions agree"),
        Row("fidelity", "differences without a cause", "%", round(100 - result["caused_pct"], 1), target="0 %",
            met=result["caused_pct"] == 100.0),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subset", help="a manifest subset (e.g. fast)")
    parser.add_argument("--only", help="comma-separated file-name prefixes (e.g. 17_,39_)")
    parser.add_argument("--rng", choices=("restored", "fresh"), default="restored")
    parser.add_argument("--check-determinism", action="store_true", help="replay each notebook twice")
    parser.add_argument("--json", metavar="FILE", help="also write every row and the summary as JSON")
    parser.add_argument("--verbose", action="store_true", help="print every differing cell, its cause and diff")
    args = parser.parse_args()
    chosen = entries(args.subset)
    if args.only:
        prefixes = tuple(args.only.split(","))
        chosen = [e for e in chosen if Path(e["file"]).name.startswith(prefixes)]
    rows = measure_entries(chosen, args.rng, args.check_determinism)
    result = summary(rows)
    for row in rows:
        for cell in row.get("cells", []) if args.verbose else []:
            print(f"{row['notebook']} cell {cell['cell']}: {cell['cause']} ({cell['detail']})")
            print("  " + "\n  ".join(("\n".join(cell["diff"]) or "")[:1200].splitlines()))
        for cell_id in row.get("plain_nondeterministic", []):
            print(f"{row['notebook']} cell {cell_id}: the baseline's two plain executions agreed, but "
                  f"{CONFIRM_RUNS} more differ: nondeterministic outside nbtrack, not a false difference")
        for false in row["false"]:
            print(f"false difference: {row['notebook']} cell {false['cell']} ({false['cause']})")
            print("  " + "\n  ".join(("\n".join(false["diff"]) or "")[:1500].splitlines()))
    print(f"reproduced {result['reproduced_pct']}% of {result['notebooks']} (target >= 95%), "
          f"false differences {result['false_differences']} (target 0), "
          f"caused {result['caused_pct']}% of {result['differences']} differences (target 100%), "
          f"{result['seconds']} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": result}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
