"""The ``nbtrack`` command: thin verbs over the same API the notebook uses.

Each verb is defined once, in the module of its topic: ``runs`` (runs, show, diff),
``maintenance`` (reindex, fsck, gc), ``share`` (export, import, sync), ``replay``, ``report``, ``sweep``,
``demo``, ``data`` (data versions) and ``models`` (the model registry).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from nbtrack.cli import (  # noqa: F401 - each registers its verbs
    data,
    demo,
    maintenance,
    models,
    replay,
    report,
    runs,
    share,
    sweep,
)
from nbtrack.cli.format import printable, terminal_safe_output
from nbtrack.cli.registry import COMMANDS
from nbtrack.core.filters import FilterError
from nbtrack.core.ids import AmbiguousId, UnknownRun
from nbtrack.core.redact import redact_url
from nbtrack.store.index import IndexUnavailable
from nbtrack.store.store import BlobCorrupt

__all__ = ["COMMANDS", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nbtrack", description="Track, compare and replay notebook runs.")
    parser.add_argument("--store", help="store path or URL (default: $NBTRACK_STORE, else .nbtrack/ found upwards)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, verb in COMMANDS.items():
        p = sub.add_parser(name, help=verb.help, description=verb.help)
        verb.add_arguments(p)
        p.set_defaults(func=verb.run)
    return parser


def _one_line(message: Warning | str, *_args: object, **_kwargs: object) -> None:
    """Warnings in a terminal: one line each (the message says what happened), no source line."""
    print(printable(str(message)), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    with terminal_safe_output():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _one_line
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except (UnknownRun, AmbiguousId, FilterError, BlobCorrupt, FileNotFoundError, ValueError) as exc:
        text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)  # never a bare errno
        print(f"nbtrack: {printable(text)}", file=sys.stderr)
        return 2
    except (PermissionError, ConnectionError, TimeoutError, IndexUnavailable) as exc:  # one clear line
        print(f"nbtrack: {printable(redact_url(str(exc)))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
