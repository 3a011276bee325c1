"""``nbtrack reindex``, ``nbtrack fsck``, ``nbtrack gc`` and ``nbtrack compact``: upkeep of a store
and of this machine's index of it."""

from __future__ import annotations

import argparse

from nbtrack.api import as_store
from nbtrack.cli.format import printable
from nbtrack.cli.registry import command
from nbtrack.store.compaction import compact
from nbtrack.store.maintenance import fsck, gc


@command("reindex", "rebuild this machine's index from the run logs")
def cmd_reindex(args: argparse.Namespace) -> int:
    store = as_store(args.store)
    count = store.index.rebuild()
    print(f"indexed {count} runs from {printable(store.url)}")
    return 0


@command("fsck", "verify every run log, blob and pack of the store")
def cmd_fsck(args: argparse.Namespace) -> int:
    report = fsck(as_store(args.store))
    print("\n".join(printable(line) for line in report.lines()))  # (a stray file's name is anyone's text)
    return 0 if report.ok else 1


@command("gc", "remove unreferenced blobs and leftover temporary files",
         lambda p: p.add_argument("--dry-run", action="store_true", help="only say what would go"))
def cmd_gc(args: argparse.Namespace) -> int:
    report = gc(as_store(args.store), dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(report.removed_blobs)} blobs, {len(report.removed_packs)} unlisted packs "
          f"({report.removed_bytes} bytes) and {len(report.removed_temp)} temporary files; {report.kept} blobs kept")
    return 0


@command("compact", "pack finished runs' summaries for other machines to read")
def cmd_compact(args: argparse.Namespace) -> int:
    store = as_store(args.store)
    store.index.refresh()
    report = compact(store.index, store.backend)
    print(report.line())
    return 0
