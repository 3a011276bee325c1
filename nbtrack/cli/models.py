"""``nbtrack models ls|show|promote|export``: the model registry (``nbtrack.api.models``)."""

from __future__ import annotations

import argparse
import json

from nbtrack.api import as_store
from nbtrack.api.model_export import MLFLOW, NATIVE, export_model
from nbtrack.api.models import lineage, models, promote_model
from nbtrack.cli.format import fmt_bytes, fmt_time, print_table, printable
from nbtrack.cli.registry import command


def _arguments(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("ls", help="every model: versions, latest, aliases")
    show = actions.add_parser("show", help="a version's lineage: run, notebook, parameters, environment, data")
    show.add_argument("ref", metavar="NAME[@VERSION|@ALIAS]")
    show.add_argument("--json", action="store_true", help="print the lineage as JSON")
    promote = actions.add_parser("promote", help="point an alias (production, staging, ...) at a version")
    promote.add_argument("ref", metavar="NAME@VERSION")
    promote.add_argument("alias")
    export = actions.add_parser("export", help="model files, pinned requirements and lineage, for serving")
    export.add_argument("ref", metavar="NAME@VERSION")
    export.add_argument("-o", "--output", required=True, metavar="DIR")
    export.add_argument("--format", choices=(NATIVE, MLFLOW), default=NATIVE,
                        help="files (default) or an MLflow model directory (needs mlflow)")


@command("models", "the model registry: ls, show NAME@V, promote NAME@V ALIAS, export NAME@V -o DIR", _arguments)
def cmd_models(args: argparse.Namespace) -> int:
    store = as_store(args.store)
    if args.action == "ls":
        rows = [[m["name"], str(len(m["versions"])), str(m["latest"]),
                 ", ".join(f"{alias}@{n}" for alias, n in m["aliases"].items())] for m in models(store)]
        print_table(["model", "versions", "latest", "aliases"], rows)
        return 0
    if args.action == "promote":
        move = promote_model(args.ref, args.alias, store)
        print(f"{printable(move['model'])}@{printable(move['alias'])} -> {printable(move['model'])}@{move['target']}")
        return 0
    if args.action == "export":
        folder = export_model(args.ref, args.output, args.format, store)
        print(f"exported {printable(args.ref)} ({args.format}) to {printable(str(folder))}")
        return 0
    found = lineage(args.ref, store)
    if args.json:
        print(json.dumps(found, default=str))
        return 0
    print("\n".join(lineage_lines(found)))
    return 0


def lineage_lines(found: dict) -> list[str]:
    """`models show`: model version -> run -> notebook snapshot, parameters, environment, data."""
    model = found["model"]
    aliases = ", ".join(found["aliases"]) or "none"
    lines = [f"model    {printable(model['name'])}@{model['version']}  (aliases: {printable(aliases)})",
             f"content  {model['files']} files, {fmt_bytes(model['bytes'])}, sha256 {model['sha256'][:16]}",
             f"from     {printable(str(model.get('source')))}",
             f"created  {fmt_time(model.get('ts'))} UTC by {printable(model.get('user') or '?')}"]
    run = found.get("run")
    if not run:
        return [*lines, "run      none recorded"]
    lines.append(f"run      {run['id']} {printable(run['name'])} ({run['status']}, "
                 f"{printable(run['user'])} on {printable(run['host'])})")
    snapshot = run.get("snapshot")
    notebook = printable(run.get("notebook") or "(no notebook)")
    lines.append(f"notebook {notebook}" + (f", snapshot {snapshot['index']} ({snapshot['reason']})" if snapshot else
                                           ", no snapshot"))
    lines += [f"param    {printable(k)} = {printable(json.dumps(v, default=str))}"
              for k, v in sorted(run["params"].items())]
    lines += [f"metric   {printable(k)} = {v:.6g}" for k, v in sorted(run["metrics"].items())]
    env = run["environment"]
    lines.append(f"env      python {env['python'] or '?'}, {env['packages']} packages" if env["sha256"]
                 else "env      not recorded")
    for item in run["data"]:
        version = f"{item['name']}@{item['version']}" if item.get("name") else "fingerprint only"
        lines.append(f"data     {printable(version)}: {printable(item['path'])} ({item['files']} files, "
                     f"{fmt_bytes(item['bytes'])})")
    return lines
