"""``nbtrack report RUN ... -o report.html``: runs as one self-contained HTML file to share."""

from __future__ import annotations

import argparse

from nbtrack.cli.format import printable
from nbtrack.cli.registry import command


def _add(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="*", metavar="RUN", help="run ids or unique prefixes")
    p.add_argument("--filter", help="also every run matching this filter, e.g. 'tag=paper'")
    p.add_argument("-o", "--output", default="nbtrack-report.html", help="the file to write (default: %(default)s)")
    p.add_argument("--title", help="the report's title (default: from the runs' names)")


@command("report", "write runs as one HTML report that opens anywhere, offline (one run, or a comparison)", _add)
def cmd_report(args: argparse.Namespace) -> int:
    from nbtrack.htmlreport import report

    path = report(*args.runs, path=args.output, store=args.store, filter=args.filter, title=args.title)
    print(f"wrote {printable(str(path))} ({path.stat().st_size:,} bytes)")
    return 0
