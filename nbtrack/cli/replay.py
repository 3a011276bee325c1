"""``nbtrack replay RUN``: re-execute a run with papermill and print its reproducibility report.
``nbtrack replay --filter FILTER [--cluster ...]``: replay every matching run at once (local
processes or a Dask cluster, as sweeps run) and print one table: run, verdict, cause.

Exit codes: 0 reproduced (within tolerance; a batch: every run), 1 differs, 3 failed (a batch:
the worst of its runs), and 2 for usage errors, an unknown run, or a replay that was not confirmed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nbtrack.api import as_store, get_run
from nbtrack.cli.format import print_table, printable
from nbtrack.cli.registry import command
from nbtrack.core.reproduce import DEFAULT_TOLERANCE, EXIT_CODES, FAILED
from nbtrack.core.sweep_spec import parse_value


def _add(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", help="run id or unique prefix")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a parameter (value read as int, float, True/False/None, else text)")
    p.add_argument("-r", "--raw-parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a parameter with a string value, as given")
    p.add_argument("--order", choices=("notebook", "executed"), default="notebook",
                   help="top to bottom (default), or the order the original session ran its cells in")
    p.add_argument("--kernel", help="kernelspec to replay in (default: the original's, else python3)")
    p.add_argument("--env", choices=("current", "recreate"), default="current",
                   help="current: this environment (differences are listed); recreate: a virtual "
                        "environment of the recorded packages, cached by its hash")
    p.add_argument("--data", choices=("current", "recorded"), default="current",
                   help="current: the data on disk now (differences are reported); recorded: the data "
                        "versions the run stored, written out and handed to the notebook")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="with --env recreate: go on without packages that cannot be installed",
    )
    p.add_argument("--cwd", help="working directory of the kernel (default: the original's, when it exists here)")
    p.add_argument("--out", metavar="FILE.ipynb", help="where to write the executed notebook")
    p.add_argument(
        "--tolerance", type=float, default=DEFAULT_TOLERANCE, help="relative tolerance for numbers (default 1e-6)"
    )
    p.add_argument("--yes", "-y", action="store_true",
                   help="replay a run that is not verifiably yours (someone else's code) without asking")
    p.add_argument("--rng", choices=("restored", "fresh"), default="restored",
                   help="restored (default): each cell starts from the original's random state; "
                        "fresh: new random state, to test robustness to seeds")
    p.add_argument("--check-determinism", action="store_true",
                   help="replay twice and mark the cells that differ between the two replays")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    batch = p.add_argument_group("batch replay (instead of RUN)")
    batch.add_argument("--filter", metavar="FILTER", help="replay every run matching FILTER (e.g. 'tag=baseline')")
    batch.add_argument("--workers", type=int, help="local processes replaying at once (default: the CPU count; "
                       "given, it wins over $NBTRACK_DASK_SCHEDULER)")
    batch.add_argument("--cluster", metavar="tcp://HOST:8786",
                       help="replay on this Dask scheduler's workers (default $NBTRACK_DASK_SCHEDULER)")
    batch.add_argument("--shared-folder", action="store_true",
                       help="with --cluster: the store folder is mounted at the same path on every worker")


def _confirmed(warning: str) -> bool:
    if not sys.stdin.isatty():
        print(f"nbtrack: {printable(warning)}; pass --yes to replay it", file=sys.stderr)
        return False
    answer = input(f"{printable(warning)}.\nReplay it? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


@command("replay", "re-execute a run with papermill and report whether it reproduces", _add)
def cmd_replay(args: argparse.Namespace) -> int:
    from nbtrack.replay.envs import EnvironmentBuildError
    from nbtrack.replay.report import render  # nbformat: imported by the replay only, not by every command
    from nbtrack.replay.runner import check_parameters, owner_warning, replay

    if (args.run is None) == (args.filter is None):
        print("nbtrack: give either a RUN or --filter FILTER", file=sys.stderr)
        return 2
    if args.filter is not None:
        return batch_replay(args)
    parameters = {name: parse_value(value) for name, value in args.parameter}
    parameters.update(dict(args.raw_parameter))
    check_parameters(parameters)  # names are identifiers (a ValueError is a usage error: exit 2)
    store = as_store(args.store)
    original = get_run(args.run, store)
    warning = None if args.yes else owner_warning(original)
    if warning and not _confirmed(warning):
        return 2
    try:
        result = replay(original, parameters, order=args.order, kernel=args.kernel, env=args.env, data=args.data,
                        cwd=args.cwd, out=args.out, tolerance=args.tolerance, allow_missing=args.allow_missing,
                        store=store, yes=True,
                        progress_bar=not args.no_progress and not args.json, rng=args.rng,
                        check_determinism=args.check_determinism,
                        log=lambda message: print(f"nbtrack: {printable(message)}", file=sys.stderr))
    except EnvironmentBuildError as exc:
        print(f"nbtrack: {printable(str(exc))}", file=sys.stderr)
        return EXIT_CODES[FAILED]
    if args.json:
        print(json.dumps({"run_id": result.run_id, "output_path": str(result.output_path),
                          "exit_code": result.exit_code, "report": result.report.to_dict()}, default=str))
    else:
        print("\n".join(render(result.report)))
        print(f"executed notebook: {printable(str(result.output_path))}")
    return result.exit_code


def batch_replay(args: argparse.Namespace) -> int:
    """``--filter``: every matching run replayed at once; one table; the worst exit code."""
    from nbtrack.replay.runner import store_location
    from nbtrack.sweeps.executors import ExecutorError, connect

    if args.parameter or args.raw_parameter or args.out or args.cwd:
        print("nbtrack: a batch replay takes no -p/-r/--out/--cwd: each run replays as recorded", file=sys.stderr)
        return 2
    store = as_store(args.store)
    location = store_location(args.store, store)
    try:
        executor = connect(args.cluster, args.workers, location, args.shared_folder)
    except ExecutorError as exc:
        print(f"nbtrack: {printable(str(exc))}", file=sys.stderr)
        return 2
    try:
        return _replay_all(args, store, location, executor)
    finally:
        executor.close()


def _replay_all(args: argparse.Namespace, store: Any, location: str, executor: Any) -> int:
    from nbtrack.replay.runner import owner_warning
    from nbtrack.sweeps.batch import ReplayTask, replay_batch, replayable

    runs, notes = replayable(store, args.filter)
    for note in notes:
        print(f"nbtrack: {printable(note)}", file=sys.stderr)
    if not runs:
        print(f"nbtrack: no run to replay matches {printable(args.filter)!r}", file=sys.stderr)
        return 2
    others = [w for w in (owner_warning(run) for run in runs) if w]
    if others and not args.yes:
        for warning in others:
            print(f"nbtrack: {printable(warning)}", file=sys.stderr)
        print("nbtrack: pass --yes to replay other users' runs", file=sys.stderr)
        return 2
    print(f"nbtrack: replaying {len(runs)} runs on {executor.name} ({executor.slots()} at once)", file=sys.stderr)
    tasks = [ReplayTask(location, run.id, order=args.order, kernel=args.kernel, env=args.env, data=args.data,
                        allow_missing=args.allow_missing, tolerance=args.tolerance, rng=args.rng,
                        check_determinism=args.check_determinism) for run in runs]

    def progress(row: Any, done: int, total: int) -> None:
        if not args.no_progress and not args.json:
            print(f"nbtrack: {done}/{total} {row.run} {row.verdict}", file=sys.stderr, flush=True)

    found = replay_batch(executor, tasks, progress)
    if args.json:
        print(json.dumps([{**row.__dict__, "exit_code": row.exit_code} for row in found]))
    else:
        print_table(["run", "name", "verdict", "cause", "replay"],
                    [[r.run, r.name[:30], r.verdict, r.cause, r.replay or ""] for r in found])
        bad = [r for r in found if r.exit_code]
        print(f"{len(found) - len(bad)} of {len(found)} reproduced" + (
            "; not reproduced: " + ", ".join(r.run for r in bad) if bad else ""))
    return max((row.exit_code for row in found), default=0)
