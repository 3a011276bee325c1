"""The core is pure Python: importing any ``nbtrack.core`` module loads none of the frameworks
the layers above it use (checked in a fresh interpreter, where nothing is imported yet)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import nbtrack.core

FRAMEWORKS = ("IPython", "ipykernel", "tornado", "pandas", "ipywidgets", "papermill", "anywidget", "jupyter_server",
              "nbformat", "plotly", "traitlets")


def test_core_modules_import_no_framework() -> None:
    modules = [f"nbtrack.core.{m.name}" for m in pkgutil.iter_modules(nbtrack.core.__path__)]
    assert len(modules) > 10
    probe = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) == []


def test_the_probe_sees_a_framework_when_one_is_imported() -> None:
    """The check above can fail: the same probe reports pandas once something imports it."""
    probe = f"import json, sys, pandas\nprint(json.dumps(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert "pandas" in json.loads(done.stdout)
