"""``nbtrack data add|ls|show|get``: data versions kept in the store (``nbtrack.api.data``)."""

from __future__ import annotations

import argparse
import json
import time

from nbtrack.api import as_store
from nbtrack.api.data import data_version, data_versions, get_data, manifest_of, runs_using, store_data
from nbtrack.cli.format import fmt_bytes, fmt_time, print_table, printable
from nbtrack.cli.registry import command


def _arguments(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="store a file or folder as the next version of a name")
    add.add_argument("path")
    add.add_argument("--name", help="the version name (default: the path's last part)")
    actions.add_parser("ls", help="every data version in the store")
    show = actions.add_parser("show", help="a version: size, files, and which runs used it")
    show.add_argument("ref", metavar="NAME[@VERSION]")
    show.add_argument("--files", action="store_true", help="list every file")
    get = actions.add_parser("get", help="write a version's files out (the bytes stored)")
    get.add_argument("ref", metavar="NAME@VERSION")
    get.add_argument("-o", "--output", required=True, metavar="DIR", help="where to write it")
    for sub in (add, show):
        sub.add_argument("--json", action="store_true", help="print JSON")


@command("data", "data versions: add, ls, show NAME[@VERSION], get NAME@VERSION -o DIR", _arguments)
def cmd_data(args: argparse.Namespace) -> int:
    store = as_store(args.store)
    if args.action == "add":
        started = time.perf_counter()
        version = store_data(store, args.path, args.name)
        if args.json:
            print(json.dumps(version, default=str))
        else:
            what = "new version" if version["new"] else "unchanged: same content as"
            print(f"{what} {printable(version['ref'])}: {version['files']} files, {fmt_bytes(version['bytes'])}, "
                  f"{fmt_bytes(version['stored_bytes'])} new in the store ({time.perf_counter() - started:.1f} s)")
        return 0
    if args.action == "ls":
        rows = [[f"{v['name']}@{v['version']}", str(v["files"]), fmt_bytes(v["bytes"]), fmt_bytes(v["new_bytes"]),
                 fmt_time(v.get("ts")), v.get("user") or "", (v.get("run") or "")[:16], v.get("path") or ""]
                for v in data_versions(store)]
        print_table(["version", "files", "size", "added", "created (UTC)", "user", "run", "path"], rows)
        return 0
    version = data_version(args.ref, store)
    ref = f"{version['name']}@{version['version']}"
    if args.action == "get":
        written = get_data(ref, args.output, store)
        print(f"wrote {ref} ({version['files']} files, {fmt_bytes(version['bytes'])}) to {printable(str(written))}")
        return 0
    used = [{"id": s.id, "name": s.name, "status": s.status}
            for s in runs_using(store, version["name"], int(version["version"]))]
    manifest = manifest_of(version, store)
    if args.json:
        files = [{"path": f.path, "size": f.size, "sha256": f.sha256, "chunks": len(f.chunks)} for f in manifest.files]
        print(json.dumps({**version, "ref": ref, "runs": used, "file_list": files}, default=str))
        return 0
    lines = [f"version  {printable(ref)}", f"size     {fmt_bytes(version['bytes'])} in {version['files']} files",
             f"added    {fmt_bytes(version['new_bytes'])} new in the store when created",
             f"created  {fmt_time(version.get('ts'))} UTC by {printable(version.get('user') or '?')} on "
             f"{printable(version.get('host') or '?')}",
             f"from     {printable(version.get('path') or '')}", f"sha256   {version['sha256']}"]
    lines += [f"run      {r['id']} {printable(r['name'])} ({r['status']})" for r in used] or ["run      none yet"]
    if args.files:
        lines += [f"  {printable(f.path)}  {fmt_bytes(f.size)}  {len(f.chunks)} chunks" for f in manifest.files]
    print("\n".join(lines))
    return 0
