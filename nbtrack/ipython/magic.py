"""``%nbtrack start|stop|status|note|snapshot``: parse the line, call the tracker, print one line.

Usage errors and nbtrack errors print a one-line message (never a traceback).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from typing import NoReturn

from nbtrack.ipython.tracker import KernelTracker

USAGE = "usage: %nbtrack start [NAME] [--tag T ...] [--note TEXT] [--store URL] | stop | status | note TEXT | snapshot"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message.strip() if message else "")


def _start_parser() -> _Parser:
    parser = _Parser(prog="%nbtrack start", add_help=True, allow_abbrev=False)
    parser.add_argument("name", nargs="?", default=None)
    parser.add_argument("--tag", action="append", default=[], metavar="T", help="a tag (repeatable)")
    parser.add_argument("--note", default=None, metavar="TEXT")
    parser.add_argument("--store", default=None, metavar="URL")
    return parser


def _text(rest: str) -> str:
    rest = rest.strip()
    if len(rest) >= 2 and rest[0] == rest[-1] and rest[0] in "\"'":
        return rest[1:-1]
    return rest


def run_line(tracker: KernelTracker, line: str) -> None:
    words = line.strip().split(None, 1)
    if not words:
        raise UsageError(USAGE)
    verb, rest = words[0], (words[1] if len(words) > 1 else "")
    if verb == "start":
        try:
            args = _start_parser().parse_args(shlex.split(rest))
        except ValueError as exc:  # unbalanced quotes
            raise UsageError(f"%nbtrack start: {exc}") from None
        if args.name is not None and not args.name.strip():
            raise UsageError("%nbtrack start: the run name is empty")
        run, finished = tracker.start(args.name, args.tag, args.note, args.store)
        if finished:
            print(f"nbtrack: finished run {finished} to start a new one")
        label = f" {run.name!r}" if run.name else ""
        print(f"nbtrack: run {run.id}{label} started")
    elif verb == "stop":
        _no_arguments(verb, rest)
        stopped = tracker.stop()
        print(f"nbtrack: run {stopped} finished" if stopped else "nbtrack: no active run to stop")
    elif verb == "status":
        _no_arguments(verb, rest)
        print("\n".join(tracker.status()))
    elif verb == "note":
        text = _text(rest)
        if not text:
            raise UsageError("%nbtrack note: give the note's text")
        tracker.note(text)
        print("nbtrack: note added")
    elif verb == "snapshot":
        _no_arguments(verb, rest)
        source = tracker.snapshot()
        print(
            f"nbtrack: notebook snapshot taken ({'rebuilt from the captured cells' if source == 'rebuilt' else source})"
        )
    else:
        raise UsageError(f"unknown command {verb!r}; {USAGE}")


def _no_arguments(verb: str, rest: str) -> None:
    if rest.strip():
        raise UsageError(f"%nbtrack {verb}: unexpected arguments: {rest.strip()}")


def make_magic(tracker: KernelTracker) -> Callable[[str], None]:
    def nbtrack(line: str) -> None:
        """Track this notebook's run: %nbtrack start [NAME] [--tag T ...] [--note TEXT] [--store URL],
        %nbtrack stop, %nbtrack status, %nbtrack note TEXT, %nbtrack snapshot."""
        try:
            run_line(tracker, line)
        except UsageError as exc:
            if str(exc):
                print(f"nbtrack: {exc}", file=sys.stderr)
        except Exception as exc:  # nbtrack's own failure: one line, never a traceback
            print(f"nbtrack: {_one_line(exc)}", file=sys.stderr)

    return nbtrack


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


