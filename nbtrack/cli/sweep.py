"""``nbtrack sweep NOTEBOOK``: run a notebook once per set of parameters (grid, random or Optuna
search), each trial a tracked run, on local processes or a Dask cluster; ``--resume``,
``--cancel`` and ``--show`` act on a sweep already in the store.

Exit codes: 0 every trial finished, 1 a trial failed or crashed or the sweep was cancelled,
2 usage errors (an unreadable spec, an unknown sweep, a store a cluster cannot share).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nbtrack.cli.format import fmt_value, print_table, printable
from nbtrack.cli.registry import command
from nbtrack.core.sweep_spec import SEARCHES, SpecError, parse_dimension, parse_value


def _add(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook", nargs="?", help="the notebook to run (its 'parameters' cell receives the values)")
    p.add_argument("-g", "--grid", action="append", default=[], metavar="NAME=SPEC",
                   help="a swept parameter: NAME=V1,V2,... (grid: every value), NAME=choice:A,B, "
                        "NAME=uniform:LO:HI or NAME=loguniform:LO:HI (with --random N or --search optuna)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="a fixed parameter of every trial (value read as int, float, True/False/None, else text)")
    p.add_argument("-r", "--raw-parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="a fixed parameter with a string value, as given")
    p.add_argument("--random", type=int, metavar="N", help="N trials drawn at random from the dimensions")
    p.add_argument("--seed", type=int, help="seed of a random or optuna search (default: drawn, and recorded)")
    p.add_argument("--search", choices=SEARCHES, help="grid (default), random, or optuna (Bayesian, needs Optuna)")
    p.add_argument("--trials", type=int, metavar="N", help="trials of an optuna search")
    p.add_argument("--objective", metavar="METRIC:max|min", help="what an optuna search optimises (a final value)")
    p.add_argument("--name", help="the sweep's name (default: the notebook's)")
    p.add_argument("--tag", action="append", default=[], help="a tag of the sweep and of every trial's run")
    p.add_argument("--workers", type=int, help="local processes running trials at once (default: the CPU count; "
                        "given, it wins over $NBTRACK_DASK_SCHEDULER)")
    p.add_argument("--cluster", metavar="tcp://HOST:8786",
                   help="run the trials on this Dask scheduler's workers (default $NBTRACK_DASK_SCHEDULER)")
    p.add_argument("--shared-folder", action="store_true",
                   help="with --cluster: the store folder is mounted at the same path on every worker")
    p.add_argument("--retries", type=int, default=1, help="attempts after a crash (worker or kernel died; default 1)")
    p.add_argument("--kernel", help="kernelspec of the trials (default: the notebook's, else python3)")
    p.add_argument("--env", choices=("current", "recreate"), default="current",
                   help="recreate: each worker runs the trials in a virtual environment of this one's packages")
    p.add_argument("--allow-missing", action="store_true", help="with --env recreate: skip uninstallable packages")
    p.add_argument("--cwd", help="the kernels' working folder (default: the notebook's, where it exists)")
    p.add_argument("--out", help="folder of the executed notebooks (default: nbtrack-sweeps/ in the kernels' folder)")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--resume", metavar="ID", help="run the trials of sweep ID that did not finish")
    act.add_argument("--cancel", metavar="ID", help="stop sweep ID: pending trials never start")
    act.add_argument("--show", metavar="ID", help="print sweep ID's progress and trials")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (one line per trial instead)")
    p.add_argument("--json", action="store_true", help="print the sweep's progress as JSON at the end")


def _say(message: str) -> None:
    print(f"nbtrack: {printable(message)}", file=sys.stderr, flush=True)


def summary_table(state: Any, max_metrics: int = 3) -> tuple[list[str], list[list[str]]]:
    """The table printed at the end: a row per trial, its parameters and final metrics (the
    objective first)."""
    from nbtrack.sweeps.progress import trial_rows

    rows = trial_rows(state)
    names = list(dict.fromkeys(k for r in rows for k in r["params"]))
    metric = state.spec.objective.metric if state.spec.objective else None
    metrics = ([metric] if metric else []) + sorted({k for r in rows for k in r["metrics"]} - {metric})
    table = [[str(r["trial"]), r["status"], r["run"] or "", str(len(r["attempts"])),
              *(fmt_value(r["params"].get(n)) for n in names),
              *(fmt_value(r["metrics"].get(m)) for m in metrics[:max_metrics])] for r in rows]
    return ["trial", "status", "run", "attempts", *names, *metrics[:max_metrics]], table


def report(sweep: Any, as_json: bool) -> int:
    """The summary table (or JSON) of a sweep; its exit code."""
    from nbtrack.sweeps.progress import counts_text, progress

    state = sweep.state()
    if as_json:
        print(json.dumps(progress(state), default=str))
        return sweep.exit_code
    headers, rows = summary_table(state)
    print_table(headers, rows)
    best = progress(state)["best"]
    line = f"sweep {state.id} ({printable(state.name)}): {state.status()}; {counts_text(state)}"
    if best is not None:
        line += f"; best {state.spec.objective.text() if state.spec.objective else ''} = {best['value']:.6g} " \
                f"(trial {best['trial']}, run {best['run']})"
    print(line)
    print(f"its runs: nbtrack runs sweep={state.id}")
    return sweep.exit_code


@command("sweep", "run a notebook once per set of parameters, on local processes or a Dask cluster", _add)
def cmd_sweep(args: argparse.Namespace) -> int:
    from nbtrack.sweeps import api
    from nbtrack.sweeps.executors import ExecutorError
    from nbtrack.sweeps.progress import TerminalProgress

    fixed = {name: parse_value(value) for name, value in args.parameter}
    fixed.update(dict(args.raw_parameter))
    progress = False if args.json else TerminalProgress(bar=False if args.no_progress else None)
    try:
        if args.cancel:
            swept = api.cancel(args.cancel, args.store)
            print(f"sweep {swept.id}: cancelled (pending trials will not start; running ones finish)")
            return 0
        if args.show:
            return report(api.get_sweep(args.show, args.store), args.json)
        if args.resume:
            swept = api.resume(args.resume, notebook=args.notebook, params=fixed, workers=args.workers,
                               cluster=args.cluster, store=args.store, shared_folder=args.shared_folder,
                               progress=progress, say=_say)
        else:
            if not args.notebook:
                print("nbtrack: give a NOTEBOOK (or --resume, --cancel or --show ID)", file=sys.stderr)
                return 2
            dims = [parse_dimension(text) for text in args.grid]
            swept = api.sweep(args.notebook, {d.name: d for d in dims}, params=fixed, random=args.random,
                              seed=args.seed, search=args.search, trials=args.trials, objective=args.objective,
                              name=args.name, tags=args.tag, workers=args.workers, cluster=args.cluster,
                              retries=args.retries, kernel=args.kernel, env=args.env,
                              allow_missing=args.allow_missing, cwd=args.cwd, out=args.out, store=args.store,
                              shared_folder=args.shared_folder, progress=progress, say=_say)
    except (SpecError, ExecutorError, api.SweepRefused, ImportError) as exc:
        print(f"nbtrack: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nbtrack: stopped", file=sys.stderr)
        return 130
    return report(swept, args.json)

