"""The columns of ``nbtrack.runs()`` for every run, with the finished runs' part kept beside the index.

Building the columns of 100,000 runs from SQL costs seconds (a row, a decoded JSON text and a
dict of params per run). The finished runs' part changes only when a finished run's row is
written or a row removed, so it is saved in a file beside the index (``<index>.table``), tagged
with what it was built from (``Index.table_version``: the index file's uuid and a generation
that grows on every such change), and read back whole on the next call while that still holds.
Runs that are not finished (their status and duration move with the clock) are read from SQL on
every call and merged in id order. The file is a cache: unreadable, of another Python or of
another index state, it is simply built again (written under a temporary name, then renamed).

Objects are made by the hundred thousand here (a list of tags, a dict of params per run), with
the garbage collector paused (``core.bulk``).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbtrack.api.rows import MISSING, columns
from nbtrack.core.bulk import gc_paused
from nbtrack.core.text import encodable
from nbtrack.store.store import Store

FORMAT = (1, marshal.version, sys.version_info[:2])
Columns = dict[str, Sequence[Any]]


def encodable_column(values: Sequence[Any]) -> Sequence[Any]:
    """A column whose text UTF-8 can encode (`encodable`): checked at C speed, copied only when
    some value holds a lone surrogate."""
    text = [v for v in values if isinstance(v, str)]
    try:
        "".join(text).encode("utf-8")
        return values
    except UnicodeEncodeError:
        return [encodable(v) if isinstance(v, str) else v for v in values]


def all_columns(store: Store, now: float | None = None) -> Columns:
    """``rows.columns(store)`` of every run, every text encodable (see the module docstring)."""
    index = store.index
    index.refresh()
    with gc_paused():
        for _attempt in range(3):  # a finished run changed meanwhile: both parts again, once or twice
            version = index.table_version()
            path = index.path.with_name(f"{index.path.name}.table")
            kept = _load(path, version)
            finished = kept if kept is not None else _encodable(columns(store, now=now, final=True, refresh=False))
            if kept is None and index.table_version() == version:
                _save(path, version, finished)
            live = _encodable(columns(store, now=now, final=False, refresh=False))
            if index.table_version() == version:
                break
    return merged(finished, live)


def _encodable(found: Columns) -> Columns:
    return {name: encodable_column(values) for name, values in found.items()}


def _save(path: Path, version: tuple[str, int], found: Columns) -> None:
    import numpy as np

    packed = {name: ("f8", np.ascontiguousarray(values, dtype=np.float64).tobytes())
              if isinstance(values, np.ndarray) else ("list", list(values)) for name, values in found.items()}
    temporary = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        temporary.write_bytes(marshal.dumps((FORMAT, version, packed)))
        os.replace(temporary, path)
    except (OSError, ValueError):  # a full disk, a value marshal cannot write: no cache, same answer
        with contextlib.suppress(OSError):
            temporary.unlink()


def _load(path: Path, version: tuple[str, int]) -> Columns | None:
    import numpy as np

    try:
        found_format, found_version, packed = marshal.loads(path.read_bytes())
        if found_format != FORMAT or tuple(found_version) != version:
            return None
        return {name: np.frombuffer(values, dtype=np.float64).copy() if kind == "f8" else values
                for name, (kind, values) in packed.items()}
    except (OSError, EOFError, ValueError, TypeError):
        return None


def merged(first: Columns, second: Columns) -> Columns:
    """Two sets of columns of distinct runs as one, in id order (NaN where a part lacks a column)."""
    import numpy as np

    if not second:
        return first
    if not first:
        return second
    n, m = len(first["id"]), len(second["id"])
    ids = [*first["id"], *second["id"]]
    order = None if ids[n - 1] < ids[n] else sorted(range(n + m), key=ids.__getitem__)
    out: Columns = {}
    for name in dict.fromkeys([*first, *second]):
        a, b = first.get(name), second.get(name)
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            joined: Sequence[Any] = np.concatenate([np.full(n, MISSING) if a is None else np.asarray(a, float),
                                                    np.full(m, MISSING) if b is None else np.asarray(b, float)])
            out[name] = joined if order is None else joined[order]
        else:
            values = [*([MISSING] * n if a is None else a), *([MISSING] * m if b is None else b)]
            out[name] = values if order is None else [values[i] for i in order]
    return out
