"""``nbtrack demo``: execute a small example notebook under tracking, in a real kernel, on the
embedded default store, then show the run table."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from nbtrack.cli.registry import command
from nbtrack.cli.runs import cmd_runs
from nbtrack.store.locate import find_store

DEMO_CELLS = [
    ("markdown", "# nbtrack demo\nA small classifier, tracked: params, metrics, data fingerprint, snapshot."),
    ("code", "seed = 0\nn_estimators = 25", ["parameters"]),
    ("code", '%load_ext nbtrack\n%nbtrack start "demo forest" --tag demo --note "does a bigger forest help?"'),
    (
        "code",
        "import numpy as np\nfrom sklearn.datasets import load_digits\n"
        "from sklearn.ensemble import RandomForestClassifier\nfrom sklearn.model_selection import train_test_split\n"
        "X, y = load_digits(return_X_y=True)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)",
    ),
    (
        "code",
        "import nbtrack\nmodel = RandomForestClassifier(n_estimators=1, warm_start=True, random_state=seed)\n"
        "for trees in range(1, n_estimators + 1):\n"
        "    model.n_estimators = trees\n    model.fit(X_train, y_train)\n"
        "    nbtrack.log(step=trees, train_acc=model.score(X_train, y_train), test_acc=model.score(X_test, y_test))\n"
        "print(f'test accuracy: {model.score(X_test, y_test):.3f}')",
    ),
    ("code", "%nbtrack stop"),
]


def demo_notebook() -> Any:  # -> nbformat.NotebookNode
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, source, *tags in DEMO_CELLS:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags[0]
        nb.cells.append(cell)
    return nb


def run_demo(store: str | None = None, keep: str | None = None, kernel_name: str = "python3") -> Path:
    """Execute the demo notebook in a fresh kernel tracking into `store`; returns the notebook path."""
    import nbformat
    from nbclient import NotebookClient

    folder = Path(keep or tempfile.mkdtemp(prefix="nbtrack-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.ipynb"
    nb = demo_notebook()
    nbformat.write(nb, path)
    env_store = os.path.abspath(find_store(store)) if "://" not in find_store(store) else find_store(store)
    # the kernel learns its store, and its notebook's path (nbclient, like papermill, gives none)
    # and imports this very nbtrack (a checkout that is not installed included)
    package_root = str(Path(__file__).resolve().parents[1])
    python_path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    settings = {"NBTRACK_STORE": env_store, "NBTRACK_NOTEBOOK": str(path.resolve()), "PYTHONPATH": python_path}
    previous = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        NotebookClient(
            nb, kernel_name=kernel_name, timeout=600, resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    nbformat.write(nb, path)
    return path


@command("demo", "run a small example notebook under tracking and show the run table",
         lambda p: p.add_argument("--keep", metavar="DIR", help="write the executed notebook here"))
def cmd_demo(args: argparse.Namespace) -> int:
    run_demo(args.store, args.keep)
    return cmd_runs(argparse.Namespace(store=args.store, filter=None, json=False))
