"""Names a package exports but imports on first use (a module ``__getattr__``, PEP 562): so
``import nbtrack`` stays light while ``nbtrack.replay(...)`` or ``nbtrack.sweep(...)`` load
papermill, widgets and the rest only when called."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of `package`: `exports` maps each name to the module defining it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
