"""The notebook view of a running sweep (``nbtrack.sweep`` shows it under the cell): a bar, the
counts, and one row per trial (status, parameters, objective, run). Text only, JupyterLab's
theme variables; user text (names, parameter values, errors) is set as text, never HTML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from nbtrack.capture import colab
from nbtrack.core.sweep_state import SweepState
from nbtrack.sweeps.progress import progress

_HERE = Path(__file__).resolve().parent
_DOM = _HERE.parent / "widgets" / "dom.js"  # the DOM helpers every nbtrack view starts with
MAX_ROWS = 200  # trials shown; the rest are counted


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in params.items())


class SweepProgress(anywidget.AnyWidget):
    _esm = _DOM.read_text(encoding="utf-8") + (_HERE / "progress.js").read_text(encoding="utf-8")
    _css = (_HERE / "progress.css").read_text(encoding="utf-8")
    title = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    done = traitlets.Int(0).tag(sync=True)
    counts = traitlets.Dict().tag(sync=True)
    objective = traitlets.Unicode("").tag(sync=True)
    best = traitlets.Unicode("").tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        colab.enable_widgets()
        super().__init__(**kwargs)

    @classmethod
    def of(cls, state: SweepState) -> SweepProgress:
        view = cls()
        view.show(state)
        return view

    def show(self, state: SweepState) -> None:
        """Show `state` (the driver calls this as the sweep goes); only changed traits are sent."""
        data = progress(state)
        rows = [{"trial": r["trial"], "status": r["status"], "params": _params_text(r["params"]),
                 "value": r["value"], "run": r["run"] or "", "attempts": len(r["attempts"]),
                 "error": r["error"] or ""} for r in data["trials"][:MAX_ROWS]]
        best = data["best"]
        with self.hold_sync():
            self.title = f"sweep {data['id']}: {data['name']}"
            self.status, self.total, self.done = data["status"], data["total"], data["done"]
            self.counts = {k: v for k, v in data["counts"].items() if v}
            self.objective = data["objective"] or ""
            self.best = "" if best is None else f"best: trial {best['trial']} ({best['value']:.6g}, run {best['run']})"
            if rows != self.rows:
                self.rows = rows
