"""``nbtrack replay RUN``: re-execute a run with papermill and print its reproducibility report.

Exit codes: 0 reproduced (within tolerance), 1 differs, 3 failed (and 2 for usage errors, an
unknown run, or a replay that was not confirmed).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nbtrack.api import as_store, get_run
from nbtrack.cli.format import printable
from nbtrack.cli.registry import command
from nbtrack.core.reproduce import DEFAULT_TOLERANCE, EXIT_CODES, FAILED


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill reads it: int, float, True/False/None, else the string."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _add(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run id or unique prefix")
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
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


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
                        progress_bar=not args.no_progress and not args.json,
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
