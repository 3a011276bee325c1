"""Which notebook this kernel runs, and reading it: disk, VS Code, Colab, or nothing (rebuild).

Where the path comes from, most trusted first:

1. ``$NBTRACK_NOTEBOOK`` (set by ``nbtrack replay`` and by anyone who knows better);
2. ``__vsc_ipynb_file__`` in the user namespace (VS Code);
3. the Jupyter server that started this kernel: its ``jpserver-*.json`` in the runtime folder
   gives URL and token, and ``GET /api/sessions`` maps our kernel id to a notebook path;
4. ``$JPY_SESSION_NAME``, only when the file exists, was modified after this kernel started
   (minus a margin) and our parent is not itself a kernel: papermill children inherit the
   variable from the notebook that launched them, so it can name another notebook;
5. the ``papermill`` command line that started this kernel: its output notebook, which
   papermill writes before the first cell runs and after every cell;
6. the notebook in the kernel's working folder whose code cells hold every cell the kernel ran
   so far (papermill's Python API and nbclient give the kernel no path at all, but run it in
   the notebook's folder by default); the newest when several do.

On Colab the notebook is asked for through its frontend API. Otherwise the snapshot is rebuilt
from the captured cells.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbtrack.capture.colab import fetch_notebook, in_colab
from nbtrack.core.identity import pid_alive

ENV_NOTEBOOK = "NBTRACK_NOTEBOOK"
VSCODE_VARIABLE = "__vsc_ipynb_file__"
SESSION_NAME_MARGIN = 3600.0  # seconds a notebook may have been saved before its kernel started
SERVER_TIMEOUT = 0.5


@dataclass
class Location:
    path: str | None  # absolute notebook path, when known
    source: str  # "env" | "vscode" | "server" | "session-name" | "papermill" | "found" | "colab" | "rebuilt"
    kernel_name: str | None = None


def kernel_id() -> str | None:
    """This kernel's id, from its connection file name ``kernel-<id>.json``."""
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:
        return None
    if name.startswith("kernel-") and name.endswith(".json"):
        return name[len("kernel-") : -len(".json")]
    return None


def in_kernel() -> bool:
    """Whether this process is an IPython kernel (ipykernel: JupyterLab, Notebook 7, VS Code,
    Colab, papermill, nbclient), not a script or a terminal IPython."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def locate(user_ns: dict[str, Any] | None = None, kid: str | None = None,
           sources: Sequence[str] = ()) -> Location:
    """Where this kernel's notebook is (see the module docstring for the order); `sources`:
    the cells the kernel ran so far, to recognise its notebook by content."""
    if os.environ.get(ENV_NOTEBOOK):
        return Location(os.path.abspath(os.environ[ENV_NOTEBOOK]), "env")
    vscode = (user_ns or {}).get(VSCODE_VARIABLE)
    if isinstance(vscode, str) and vscode:
        return Location(vscode, "vscode")
    if in_colab():
        return Location(None, "colab")
    found = server_session(kid if kid is not None else kernel_id())
    if found is not None:
        return found
    named = session_name_path()
    if named is not None:
        return Location(named, "session-name")
    output = papermill_output()
    if output is not None:
        return Location(output, "papermill")
    holding = notebook_holding(sources)
    if holding is not None:
        return Location(holding, "found")
    return Location(None, "rebuilt")


def runtime_dir() -> str:
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        return jupyter_runtime_dir()
    except Exception:
        return ""


def server_session(kid: str | None) -> Location | None:
    """Ask each running Jupyter server which notebook our kernel belongs to."""
    if not kid:
        return None
    for info_file in sorted(
        glob.glob(os.path.join(runtime_dir(), "jpserver-*.json")), key=os.path.getmtime, reverse=True
    ):
        try:
            with open(info_file) as f:
                info = json.load(f)
            pid = int(info.get("pid") or 0)
            if pid > 0 and not pid_alive(pid):  # an unknown pid: try the server anyway
                continue
            request = urllib.request.Request(urllib.parse.urljoin(info["url"], "api/sessions"))
            if info.get("token"):
                request.add_header("Authorization", f"token {info['token']}")
            with urllib.request.urlopen(request, timeout=SERVER_TIMEOUT) as response:
                sessions = json.load(response)
        except Exception:
            continue
        for session in sessions:
            kernel = session.get("kernel") or {}
            if kernel.get("id") == kid:
                relative = session.get("path") or (session.get("notebook") or {}).get("path") or ""
                root = info.get("root_dir") or info.get("notebook_dir") or ""
                return Location(os.path.join(root, relative) if relative else None, "server", kernel.get("name"))
    return None


def _process_start(pid: int) -> float | None:
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:
        return None


def _parent_is_kernel() -> bool:
    try:
        import psutil

        cmdline = " ".join(psutil.Process(os.getppid()).cmdline())
    except Exception:
        return False
    return "ipykernel" in cmdline or "papermill" in cmdline


def session_name_path() -> str | None:
    """``$JPY_SESSION_NAME`` when it plausibly names this kernel's notebook."""
    name = os.environ.get("JPY_SESSION_NAME")
    if not name or not name.endswith(".ipynb") or not os.path.isfile(name):
        return None
    started = _process_start(os.getpid()) or time.time()
    if os.path.getmtime(name) < started - SESSION_NAME_MARGIN or _parent_is_kernel():
        return None
    return os.path.abspath(name)


def papermill_output() -> str | None:
    """The output notebook of the ``papermill IN OUT`` command that started this kernel."""
    try:
        import psutil

        parent = psutil.Process(os.getppid())
        argv, cwd = parent.cmdline(), parent.cwd()
    except Exception:
        return None
    words = [os.path.basename(a) for a in argv]
    if "papermill" not in words:
        return None
    positional, skip = [], False
    for arg in argv[words.index("papermill") + 1:]:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = "=" not in arg and arg not in _PAPERMILL_FLAGS
        else:
            positional.append(arg)
    if len(positional) < 2 or not positional[1].endswith(".ipynb") or "://" in positional[1]:
        return None
    path = os.path.join(cwd, positional[1])
    return os.path.abspath(path) if os.path.isfile(path) else None


_PAPERMILL_FLAGS = {"--help", "--version", "--report-mode", "--no-report-mode", "--log-output", "--no-log-output",
                    "--progress-bar", "--no-progress-bar", "--prepare-only", "--request-save-on-cell-execute",
                    "--no-request-save-on-cell-execute", "--autosave-cell-every", "--stdout-file", "--stderr-file",
                    "--inject-input-path", "--inject-output-path", "--inject-paths", "--no-input", "--help-notebook"}
MAX_CANDIDATES = 50
MAX_CANDIDATE_BYTES = 50 * 1024 * 1024


def notebook_holding(sources: Sequence[str], folder: str | None = None) -> str | None:
    """The notebook in `folder` (the working folder) whose code cells include every one of
    `sources` (the newest of several); None when `sources` is empty or none does."""
    wanted = {s.strip() for s in sources if s.strip()}
    if not wanted:
        return None
    try:
        candidates = sorted(Path(folder or os.getcwd()).glob("*.ipynb"), key=lambda p: p.stat().st_mtime,
                            reverse=True)[:MAX_CANDIDATES]
    except OSError:
        return None
    for path in candidates:
        try:
            if path.stat().st_size > MAX_CANDIDATE_BYTES:
                continue
            with open(path, encoding="utf-8") as f:
                cells = json.load(f).get("cells") or []
        except (OSError, ValueError, AttributeError):
            continue
        held = {"".join(c.get("source") or "") if isinstance(c.get("source"), list) else str(c.get("source") or "")
                for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"}
        if wanted <= {h.strip() for h in held}:
            return str(path.resolve())
    return None


def read_notebook(location: Location) -> dict[str, Any] | None:
    """The notebook as a dict (nbformat JSON), or None when it cannot be had (then: rebuild)."""
    if location.source == "colab":
        return fetch_notebook()
    if not location.path:
        return None
    try:  # plain JSON: importing nbformat costs seconds (jsonschema); it is validated later
        with open(location.path, encoding="utf-8") as f:
            notebook = json.load(f)
    except (OSError, ValueError):
        return None
    return notebook if isinstance(notebook, dict) and isinstance(notebook.get("cells"), list) else None


def kernel_name_for(executable: str = sys.executable) -> str | None:
    """The kernelspec that runs `executable` (``python3`` preferred when several do)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager().get_all_specs()
    except Exception:
        return None
    here = os.path.realpath(executable)
    matches = []
    for name, spec in specs.items():
        argv = (spec.get("spec") or {}).get("argv") or []
        # "python" in the native kernelspec means: the Python that launches it (this one)
        if argv and (os.path.realpath(argv[0]) == here or (argv[0] in ("python", "python3") and name == "python3")):
            matches.append(name)
    if "python3" in matches:
        return "python3"
    return matches[0] if matches else None
