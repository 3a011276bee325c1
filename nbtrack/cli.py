"""The ``nbtrack`` command: thin verbs over the same API the notebook uses."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

from nbtrack.core.diff import diff_states
from nbtrack.core.filters import FilterError
from nbtrack.core.ids import AmbiguousId, UnknownRun
from nbtrack.query import Run, get_run, summaries
from nbtrack.store.maintenance import fsck, gc
from nbtrack.store.store import BlobCorrupt, Store, open_store

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(name: str, help: str) -> Callable[[Command], Command]:
    """Register a subcommand; the function's `args` attribute, if set, adds its arguments."""

    def register(fn: Command) -> Command:
        COMMANDS[name] = (fn, getattr(fn, "arguments", lambda p: None), help)
        return fn

    return register


def arguments(add: Callable[[argparse.ArgumentParser], None]) -> Callable[[Command], Command]:
    def attach(fn: Command) -> Command:
        fn.arguments = add  # type: ignore[attr-defined]
        return fn

    return attach


def _store(args: argparse.Namespace) -> Store:
    return open_store(args.store)


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else str(value)


def fmt_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for line in (headers, ["-" * w for w in widths], *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


def printable(text: str) -> str:
    """User text for a terminal: control characters shown escaped, never interpreted."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@command("runs", "list the runs in the store")
@arguments(lambda p: (p.add_argument("filter", nargs="?", default=None, help="e.g. 'loss<0.3 status=finished'"),
                      p.add_argument("--json", action="store_true", help="one JSON array of run summaries")))
def cmd_runs(args: argparse.Namespace) -> int:
    rows = summaries(_store(args), args.filter)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    metric_keys = sorted({k for r in rows for k in r["metrics"]})[:4]
    table = [
        [r["id"], printable(r["name"])[:30], r["status"], printable(r["user"])[:16], (r["start"] or "")[:19].replace("T", " "),
         fmt_duration(r["duration"]), printable(",".join(r["tags"]))[:20],
         *(fmt_value(r["metrics"].get(k, {}).get("last")) for k in metric_keys)]
        for r in rows
    ]
    print_table(["id", "name", "status", "user", "start (UTC)", "time", "tags", *metric_keys], table)
    return 0


def show_lines(run: Run) -> list[str]:
    s = run.summary()
    lines = [f"run      {s['id']}", f"name     {printable(s['name'])}", f"status   {s['status']}",
             f"user     {printable(s['user'])} on {printable(s['host'])}", f"start    {s['start']}",
             f"duration {fmt_duration(s['duration'])}"]
    if s["replay_of"]:
        lines.append(f"replay of {s['replay_of']}")
    if s["tags"]:
        lines.append("tags     " + printable(", ".join(s["tags"])))
    lines += [f"note     {printable(n)}" for n in s["notes"]]
    if run.state.error:
        lines.append(f"error    {printable(run.state.error)}")
    if s["params"]:
        lines.append("params")
        lines += [f"  {printable(k)} = {printable(json.dumps(v, default=str))}" for k, v in sorted(s["params"].items())]
    if s["metrics"]:
        lines.append("metrics                 last          min          max    count")
        lines += [f"  {printable(k)[:20]:20} {fmt_value(m['last']):>12} {fmt_value(m['min']):>12} "
                  f"{fmt_value(m['max']):>12} {m['count']:>8}" for k, m in sorted(s["metrics"].items())]
    lines += [f"artifact {printable(a['name'])} ({a['size']} bytes, sha256 {a['sha256'][:12]})" for a in run.artifacts]
    lines += [f"data     {printable(d['path'])}: {d['files']} files, {d['bytes']} bytes, sha256 {d['sha256'][:12]}" for d in run.data]
    lines += [f"warning  {w['kind']}: {printable(str(w['message']))}" for w in run.state.warnings]
    lines += [f"damaged  {d}" for d in run.log.damage]
    return lines


@command("show", "show one run")
@arguments(lambda p: (p.add_argument("run", help="run id or unique prefix"),
                      p.add_argument("--json", action="store_true")))
def cmd_show(args: argparse.Namespace) -> int:
    run = get_run(args.run, _store(args))
    if args.json:
        print(json.dumps(run.summary() | {"artifacts": run.artifacts, "data": run.data}, default=str))
    else:
        print("\n".join(show_lines(run)))
    return 0


@command("diff", "compare two runs: params, metrics, environment, cells")
@arguments(lambda p: (p.add_argument("run_a"), p.add_argument("run_b"), p.add_argument("--json", action="store_true")))
def cmd_diff(args: argparse.Namespace) -> int:
    store = _store(args)
    a, b = get_run(args.run_a, store), get_run(args.run_b, store)
    diff = diff_states(a.state, b.state)
    if args.json:
        print(json.dumps(diff.as_dict(), default=str))
        return 0
    print(f"--- {a.id} {printable(a.name)}\n+++ {b.id} {printable(b.name)}")
    print("params:" if diff.params else "params: identical")
    for change in diff.params:
        print(f"  {change.kind:8} {printable(change.key)}: {fmt_value(change.as_dict()['a'])} -> {fmt_value(change.as_dict()['b'])}")
    print("metrics (last):" if diff.metrics else "metrics: none")
    for key, pair in diff.metrics.items():
        va, vb = (fmt_value(x["last"]) if x else "-" for x in (pair["a"], pair["b"]))
        print(f"  {printable(key)}: {va} -> {vb}")
    return 0


@command("reindex", "rebuild this machine's index from the run logs")
def cmd_reindex(args: argparse.Namespace) -> int:
    store = _store(args)
    count = store.index.rebuild()
    print(f"indexed {count} runs from {store.url}")
    return 0


@command("fsck", "verify every run log and blob of the store")
def cmd_fsck(args: argparse.Namespace) -> int:
    report = fsck(_store(args))
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


@command("gc", "remove unreferenced blobs and leftover temporary files")
@arguments(lambda p: p.add_argument("--dry-run", action="store_true", help="only say what would go"))
def cmd_gc(args: argparse.Namespace) -> int:
    report = gc(_store(args), dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(report.removed_blobs)} blobs ({report.removed_bytes} bytes) and "
          f"{len(report.removed_temp)} temporary files; {report.kept} blobs kept")
    return 0


@command("demo", "run a small example notebook under tracking and show the run table")
@arguments(lambda p: p.add_argument("--keep", metavar="DIR", help="write the executed notebook here"))
def cmd_demo(args: argparse.Namespace) -> int:
    from nbtrack.demo import run_demo

    run_demo(args.store, args.keep)
    return cmd_runs(argparse.Namespace(store=args.store, filter=None, json=False))


def _load_plugins() -> None:
    """Commands that live beside the features they drive (replay, sharing) register on import."""
    import importlib

    for module in ("nbtrack.replay.cli", "nbtrack.share.cli", "nbtrack.capture.cli"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="nbtrack", description="Track, compare and replay notebook runs.")
    parser.add_argument("--store", help="store path or URL (default: $NBTRACK_STORE, else .nbtrack/ found upwards)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (fn, add, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UnknownRun, AmbiguousId, FilterError, BlobCorrupt, FileNotFoundError, ValueError) as exc:
        print(f"nbtrack: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # `python -m nbtrack.cli`: run the module plugins register into
    from nbtrack.cli import main as imported_main

    sys.exit(imported_main())
