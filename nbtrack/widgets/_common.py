"""What the widgets share: their bundled front-end code, Colab's widget manager, finding runs."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from nbtrack import api
from nbtrack.core.run import ActiveRun
from nbtrack.query import Run, StoreLike, as_store, get_run

RunSpec = str | Run | ActiveRun | Mapping[str, Any] | None

_HERE = Path(__file__).resolve().parent


@cache
def front_end(name: str) -> str:
    """The ES module `name` shipped in this package (no CDN: widgets work offline), after the
    shared DOM helpers of dom.js (`el`, `text`, `SVG`)."""
    return (_HERE / "dom.js").read_text(encoding="utf-8") + (_HERE / name).read_text(encoding="utf-8")


_colab_enabled = False


def enable_colab_widgets() -> bool:
    """In Colab, turn on its custom widget manager (needed for any third-party widget); once.
    Returns whether Colab was detected."""
    global _colab_enabled
    if "google.colab" not in sys.modules:
        return False
    if not _colab_enabled:
        try:
            from google.colab import output  # type: ignore[import-not-found]

            output.enable_custom_widget_manager()
            _colab_enabled = True
        except Exception:  # not a real Colab runtime: nothing to enable
            return False
    return True


def stored_run(spec: RunSpec, store: StoreLike = None) -> Run:
    """A stored run from an id (or prefix), a `Run`, an `ActiveRun` (flushed first), or a summary
    row; None means the active run, else the latest run in the store."""
    if isinstance(spec, Run):
        return spec
    if spec is None:
        spec = api.active_run()
        if spec is None:
            return latest_run(store)
    if isinstance(spec, ActiveRun):
        spec.flush()
        target = getattr(spec, "store", None) if store is None else as_store(store)
        return get_run(spec.id, target)
    if isinstance(spec, Mapping):
        spec = str(spec["id"])
    return get_run(str(spec), store)


def latest_run(store: StoreLike = None) -> Run:
    target = as_store(store)
    states = target.index.states()
    if not states:
        raise LookupError(f"no runs in the store {target.url}")
    latest = max(states, key=lambda s: s.started)
    return Run(target, latest.id)
