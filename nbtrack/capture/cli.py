"""Command-line verbs over what capture records: ``nbtrack show RUN --notebook OUT`` writes a
snapshot back as a notebook file; ``nbtrack diff`` also compares environments and cells."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nbtrack import cli
from nbtrack.core.diff import cell_changes, diff_states, environment_changes
from nbtrack.query import Run, get_run

_show, _add_show_arguments, _show_help = cli.COMMANDS["show"]
_diff, _add_diff_arguments, _diff_help = cli.COMMANDS["diff"]


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    _add_show_arguments(parser)
    parser.add_argument("--notebook", metavar="OUT", help="write the run's notebook snapshot to OUT (.ipynb)")
    parser.add_argument("--snapshot", type=int, default=-1, metavar="N",
                        help="which snapshot (0 = first, -1 = last; default -1)")


@cli.command("show", _show_help)
@cli.arguments(_show_arguments)
def cmd_show(args: argparse.Namespace) -> int:
    if getattr(args, "notebook", None):
        import nbformat

        run = get_run(args.run, cli.open_store(args.store))
        try:
            notebook = run.notebook(args.snapshot)
        except (KeyError, IndexError):
            print(f"nbtrack: run {run.id} has no snapshot {args.snapshot} ({len(run.snapshots)} taken)", file=sys.stderr)
            return 2
        nbformat.write(notebook, args.notebook)
        print(f"wrote the notebook of run {run.id} ({len(notebook.cells)} cells) to {args.notebook}", file=sys.stderr)
        if not args.json:
            return 0
    status = _show(args)
    if not args.json:
        print("\n".join(capture_lines(get_run(args.run, cli.open_store(args.store)))))
    return status


def capture_lines(run: Run) -> list[str]:
    """What `nbtrack show` adds about the notebook: cells, snapshots, environment."""
    lines = []
    cells = run.cells
    if cells:
        errors = sum(1 for c in cells if not c.get("ok", True))
        lines.append(f"cells    {len(cells)} executed" + (f", {errors} with an error" if errors else ""))
    for index, snap in enumerate(run.snapshots):
        where = cli.printable(str(snap.get("path") or "")) or "rebuilt from the captured cells"
        lines.append(f"snapshot {index}: {snap.get('reason')}, {len(snap.get('refs') or [])} cells ({snap.get('source')}: {where})")
    env = run.environment() if run.state.env else None
    if env:
        git = env.get("git") or {}
        commit = f", git {str(git.get('commit'))[:10]}{' (dirty)' if git.get('dirty') else ''}" if git.get("commit") else ""
        lines.append(f"env      Python {env['python']['version']}, {len(env.get('packages') or {})} packages{commit}")
    return lines


def _code(run: Run) -> list[str]:
    """The run's cells: its last snapshot's sources, else the sources of the cells it executed."""
    if run.snapshots:
        return [str(c.source) for c in run.notebook().cells]
    return [str(c.get("source", "")) for c in run.cells]


def capture_sections(a: Run, b: Run) -> dict[str, Any]:
    return {"environment": environment_changes(a.environment(), b.environment()),
            "cells": cell_changes(_code(a), _code(b))}


@cli.command("diff", _diff_help)
@cli.arguments(_add_diff_arguments)
def cmd_diff(args: argparse.Namespace) -> int:
    store = cli.open_store(args.store)
    a, b = get_run(args.run_a, store), get_run(args.run_b, store)
    sections = capture_sections(a, b)
    if args.json:
        diff = diff_states(a.state, b.state)
        diff.sections = sections
        print(json.dumps(diff.as_dict(), default=str))
        return 0
    status = _diff(args)
    print_sections(sections)
    return status


def print_sections(sections: dict[str, Any]) -> None:
    env = sections["environment"]
    printable, fmt = cli.printable, cli.fmt_value
    if not any(env.values()):
        print("environment: identical")
    else:
        print("environment:")
        for group in ("system", "packages", "env_vars"):
            for change in env[group]:
                print(f"  {group[:-1] if group.endswith('s') else group} {change['kind']:8} {printable(change['key'])}: "
                      f"{printable(fmt(change['a']))} -> {printable(fmt(change['b']))}")
    cells = sections["cells"]
    print("cells:" if cells else "cells: identical")
    for change in cells:
        if change["kind"] == "changed":
            print(f"  changed  cell {change['a'] + 1} -> {change['b'] + 1}")
            print("\n".join("    " + printable(line) for line in change["diff"].splitlines()))
        else:
            where = change["a"] if change["kind"] == "removed" else change["b"]
            first = (change["source"].splitlines() or [""])[0]
            print(f"  {change['kind']:8} cell {where + 1}: {printable(first)[:70]}")
