"""``nbtrack runs``, ``nbtrack show`` and ``nbtrack diff``: the store's runs in a terminal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nbtrack.api import Run, as_store, get_run, rows
from nbtrack.cli.format import fmt_duration, fmt_value, print_table, printable
from nbtrack.cli.registry import command
from nbtrack.core.diff import cell_changes, diff_states, environment_changes

METRIC_COLUMNS = 4


def _runs_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("filter", nargs="?", default=None, help="e.g. 'loss<0.3 status=finished'")
    p.add_argument("--json", action="store_true", help="one JSON array of run summaries")


@command("runs", "list the runs in the store", _runs_arguments)
def cmd_runs(args: argparse.Namespace) -> int:
    found = rows(as_store(args.store), args.filter)
    if args.json:
        print(json.dumps([row.to_json() for row in found], default=str))
        return 0
    metric_keys = sorted({k for row in found for k in row.metrics})[:METRIC_COLUMNS]
    table = [
        [row.id, row.name[:30], row.status, row.user[:16], (row.start or "")[:19].replace("T", " "),
         fmt_duration(row.duration), ",".join(row.tags)[:20],
         *(fmt_value(row.metrics.get(k, {}).get("last")) for k in metric_keys)]
        for row in found
    ]
    print_table(["id", "name", "status", "user", "start (UTC)", "time", "tags", *metric_keys], table)
    return 0


def show_lines(run: Run) -> list[str]:
    """`nbtrack show`: the run, its params and metrics, what it stored, and its notebook."""
    s = run.row()
    lines = [f"run      {s.id}", f"name     {printable(s.name)}", f"status   {s.status}",
             f"user     {printable(s.user)} on {printable(s.host)}", f"start    {s.start}",
             f"duration {fmt_duration(s.duration)}"]
    if s.replay_of:
        lines.append(f"replay of {s.replay_of}")
    if s.parent:
        lines.append(f"parent   {s.parent}")
    origin = run.state.origin
    if origin:
        lines.append(f"imported from {printable(str(origin.get('system')))} run {printable(str(origin.get('id')))}"
                     f" ({printable(str(origin.get('uri')))})")
    if s.tags:
        lines.append("tags     " + printable(", ".join(s.tags)))
    lines += [f"note     {printable(n)}" for n in s.notes]
    if run.state.error:
        lines.append(f"error    {printable(run.state.error)}")
    if s.params:
        lines.append("params")
        lines += [f"  {printable(k)} = {printable(json.dumps(v, default=str))}" for k, v in sorted(s.params.items())]
    if s.metrics:
        lines.append("metrics                 last          min          max    count")
        lines += [f"  {printable(k)[:20]:20} {fmt_value(m['last']):>12} {fmt_value(m['min']):>12} "
                  f"{fmt_value(m['max']):>12} {m['count']:>8}" for k, m in sorted(s.metrics.items())]
    lines += [f"artifact {printable(a['name'])} ({a['size']} bytes, sha256 {a['sha256'][:12]})" for a in run.artifacts]
    lines += [f"data     {printable(d['path'])}: {d['files']} files, {d['bytes']} bytes, sha256 {d['sha256'][:12]}"
              + (f" (version {printable(d['name'])}@{d['version']})" if d.get("name") else "") for d in run.data]
    lines += [f"model    {printable(m['ref'])} registered from this run" for m in run.models]
    lines += [f"warning  {w['kind']}: {printable(str(w['message']))}" for w in run.state.warnings]
    lines += [f"damaged  {d}" for d in run.log.corrupt]  # a torn tail lost nothing (fsck: recovered)
    return [printable(line) for line in lines + notebook_lines(run)]  # (every field, the stored ones too)


def notebook_lines(run: Run) -> list[str]:
    """What `nbtrack show` says about the notebook: cells, snapshots, environment."""
    lines = []
    cells = run.cells
    if cells:
        errors = sum(1 for c in cells if not c.get("ok", True))
        lines.append(f"cells    {len(cells)} executed" + (f", {errors} with an error" if errors else ""))
    for index, snap in enumerate(run.snapshots):
        where = printable(str(snap.get("path") or "")) or "rebuilt from the captured cells"
        lines.append(f"snapshot {index}: {snap.get('reason')}, {len(snap.get('refs') or [])} cells "
                     f"({snap.get('source')}: {where})")
    env = run.environment()
    if env:
        git = env.get("git") or {}
        commit = (
            f", git {str(git.get('commit'))[:10]}{' (dirty)' if git.get('dirty') else ''}" if git.get("commit") else ""
        )
        lines.append(f"env      Python {env['python']['version']}, {len(env.get('packages') or {})} packages{commit}")
    return lines


def _show_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run id or unique prefix")
    p.add_argument("--json", action="store_true")
    p.add_argument("--notebook", metavar="OUT", help="write the run's notebook snapshot to OUT (.ipynb)")
    p.add_argument(
        "--snapshot", type=int, default=-1, metavar="N", help="which snapshot (0 = first, -1 = last; default -1)"
    )


@command("show", "show one run", _show_arguments)
def cmd_show(args: argparse.Namespace) -> int:
    run = get_run(args.run, as_store(args.store))
    if args.notebook:
        import nbformat

        try:
            notebook = run.notebook(args.snapshot)
        except (KeyError, IndexError):
            print(
                f"nbtrack: run {run.id} has no snapshot {args.snapshot} ({len(run.snapshots)} taken)", file=sys.stderr
            )
            return 2
        nbformat.write(notebook, args.notebook)
        print(f"wrote the notebook of run {run.id} ({len(notebook.cells)} cells) to {args.notebook}", file=sys.stderr)
        if not args.json:
            return 0
    if args.json:
        print(json.dumps(run.summary() | {"artifacts": run.artifacts, "data": run.data, "models": run.models},
                         default=str))
    else:
        print("\n".join(show_lines(run)))
    return 0


def _sources(run: Run) -> list[str]:
    """The run's cells: its last snapshot's sources, else the sources of the cells it executed."""
    if run.snapshots:
        return [str(c.source) for c in run.notebook().cells]
    return [str(c.get("source", "")) for c in run.cells]


def _diff_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--json", action="store_true")


@command("diff", "compare two runs: params, metrics, environment, cells", _diff_arguments)
def cmd_diff(args: argparse.Namespace) -> int:
    store = as_store(args.store)
    a, b = get_run(args.run_a, store), get_run(args.run_b, store)
    diff = diff_states(a.state, b.state)
    diff.sections = {"environment": environment_changes(a.environment(), b.environment()),
                     "cells": cell_changes(_sources(a), _sources(b))}
    if args.json:
        print(json.dumps(diff.as_dict(), default=str))
        return 0
    print(f"--- {a.id} {printable(a.name)}\n+++ {b.id} {printable(b.name)}")
    print("params:" if diff.params else "params: identical")
    for change in diff.params:
        values = change.as_dict()
        print(f"  {change.kind:8} {printable(change.key)}: {fmt_value(values['a'])} -> {fmt_value(values['b'])}")
    print("metrics (last):" if diff.metrics else "metrics: none")
    for key, pair in diff.metrics.items():
        va, vb = (fmt_value(x["last"]) if x else "-" for x in (pair["a"], pair["b"]))
        print(f"  {printable(key)}: {va} -> {vb}")
    print_sections(diff.sections)
    return 0


def print_sections(sections: dict[str, Any]) -> None:
    env = sections["environment"]
    if not any(env.values()):
        print("environment: identical")
    else:
        print("environment:")
        for group in ("system", "packages", "env_vars"):
            for change in env[group]:
                print(
                    f"  {group[:-1] if group.endswith('s') else group} {change['kind']:8} {printable(change['key'])}: "
                    f"{fmt_value(change['a'])} -> {fmt_value(change['b'])}"
                )
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
