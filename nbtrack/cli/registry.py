"""The registry of ``nbtrack`` subcommands: each command module registers its verbs once."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Command = Callable[[argparse.Namespace], int]
AddArguments = Callable[[argparse.ArgumentParser], Any]


@dataclass(frozen=True)
class Verb:
    run: Command
    add_arguments: AddArguments
    help: str


COMMANDS: dict[str, Verb] = {}


def command(name: str, help: str, add_arguments: AddArguments = lambda parser: None) -> Callable[[Command], Command]:
    """Register `fn` as ``nbtrack NAME``; `add_arguments(parser)` declares its arguments."""

    def register(fn: Command) -> Command:
        if name in COMMANDS:
            raise RuntimeError(f"nbtrack command {name!r} is defined twice")
        COMMANDS[name] = Verb(fn, add_arguments, help)
        return fn

    return register
