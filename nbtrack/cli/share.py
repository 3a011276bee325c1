"""``nbtrack export``, ``nbtrack import`` and ``nbtrack sync``: runs between stores."""

from __future__ import annotations

import argparse
import sys

from nbtrack.api import rows
from nbtrack.cli import interop
from nbtrack.cli.registry import command
from nbtrack.store.bundle import export_runs, import_bundle
from nbtrack.store.store import Store, open_store
from nbtrack.store.sync import SyncReport, sync_stores


def _selected(store: Store, run_ids: list[str], filter_text: str | None) -> list[str] | None:
    """The runs named (ids or prefixes) plus those matching the filter; None means all."""
    if not run_ids and filter_text is None:
        return None
    chosen = [store.resolve(r) for r in run_ids]
    if filter_text is not None:
        chosen += [row.id for row in rows(store, filter_text)]
    return list(dict.fromkeys(chosen))


def _finish(report: SyncReport, verb: str) -> int:
    print(f"{verb}: {report.line()}")
    for run_id, why in report.conflicts.items():
        print(f"nbtrack: run {run_id} not copied: {why}", file=sys.stderr)
    return 1 if report.conflicts else 0


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="*", metavar="RUN", help="run ids or unique prefixes")
    p.add_argument("-o", "--output", help="the bundle to write, e.g. runs.nbtrack.zip")
    p.add_argument("--filter", help="also every run matching this filter, e.g. 'tag=paper'")
    interop.export_arguments(p)


@command("export", "write runs into a portable bundle (.zip), or into another tracker (--to mlflow URI)",
         _export_arguments)
def cmd_export(args: argparse.Namespace) -> int:
    if args.to is not None:
        return interop.export_to(args)
    if not args.output:
        print("nbtrack: say where to export: -o BUNDLE, or --to mlflow TRACKING_URI", file=sys.stderr)
        return 2
    store = open_store(args.store)
    ids = _selected(store, args.runs, args.filter)
    if not ids:
        print("nbtrack: name the runs to export (ids, prefixes or --filter)", file=sys.stderr)
        return 2
    return _finish(export_runs(ids, args.output, store), f"exported to {args.output}")


def _import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundles", nargs="+", metavar="BUNDLE",
                   help="files written by nbtrack export (with --from: where the other tracker keeps its runs)")
    interop.import_arguments(p)


@command("import", "copy the runs of bundles, or of another tracker (--from), into the store (only what it lacks)",
         _import_arguments)
def cmd_import(args: argparse.Namespace) -> int:
    if args.source is not None:
        return interop.import_from(args)
    store = open_store(args.store)
    status = 0
    for bundle in args.bundles:
        status = max(status, _finish(import_bundle(bundle, store), f"imported {bundle}"))
    return status


def _sync_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SRC", help="store path or URL to copy from")
    p.add_argument("target", metavar="DST", help="store path or URL to copy to")
    p.add_argument("runs", nargs="*", metavar="RUN", help="only these runs (default: all)")
    p.add_argument("--filter", help="only runs matching this filter")


@command("sync", "copy runs missing in DST (or grown since) from SRC; safe to repeat", _sync_arguments)
def cmd_sync(args: argparse.Namespace) -> int:
    source, target = open_store(args.source), open_store(args.target)
    if source.url == target.url:
        print("nbtrack: SRC and DST are the same store", file=sys.stderr)
        return 2
    ids = _selected(source, args.runs, args.filter)
    return _finish(sync_stores(source, target, ids), f"synced {source.url} -> {target.url}")
