"""Kernel environments for replays: the current one (with its differences from the original), or
a virtual environment recreated from the run's recorded packages.

A recreated environment holds only what the notebook needs, at the recorded versions:

* the distributions providing the modules the notebook's code cells import;
* the kernel (``ipykernel``) and what nbtrack needs inside a kernel (``nbformat``, ``numpy``, and
  ``ipywidgets``/``anywidget`` for live views when the original had them);
* every recorded version as a constraint, so their dependencies come at the recorded versions too;
* nbtrack itself, copied from the running installation (pure Python), so the replay records with
  the same nbtrack that compares it.

It is built with uv when available (seconds), else with ``venv`` + pip, in
``$NBTRACK_ENV_DIR/<hash>`` (default ``~/.cache/nbtrack/envs/<hash>``), keyed by the hash of the
Python version and the pinned requirements: a second replay of the same environment reuses it.
A kernelspec ``nbtrack-<hash>`` is registered in the user's Jupyter data folder.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack._version import __version__
from nbtrack.core.reproduce import normalise_package

ENV_DIR = "NBTRACK_ENV_DIR"
MARKER = "nbtrack-env.json"
KERNEL_PACKAGES = ("ipykernel", "nbformat", "numpy")  # numpy: nbtrack shapes curves with it in the kernel
LIVE_VIEW_PACKAGES = ("ipywidgets", "anywidget")
DATA_PACKAGES = ("pyfastcdc",)  # nbtrack.track_data's content-defined chunks (nbtrack[data])
MODULE_ALIASES = {
    "sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml",
    "bs4": "beautifulsoup4", "skimage": "scikit-image", "dateutil": "python-dateutil",
    "Crypto": "pycryptodome", "attr": "attrs", "google.protobuf": "protobuf",
}
_build_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class EnvironmentBuildError(RuntimeError):
    """The environment could not be recreated; `missing` lists packages that cannot be installed."""

    def __init__(self, message: str, missing: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)


@dataclass
class EnvPlan:
    python: str  # the recorded Python version ("3.11.7")
    requirements: dict[str, str]  # normalised name -> recorded version, installed explicitly
    constraints: dict[str, str]  # every recorded pin that an installer can use
    reasons: dict[str, str] = field(default_factory=dict)  # name -> why it is installed
    unknown_modules: list[str] = field(default_factory=list)  # imported, no recorded package

    @property
    def key(self) -> str:
        text = json.dumps({"python": ".".join(self.python.split(".")[:2]), "requirements": self.requirements,
                           "constraints": self.constraints}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Environment:
    kernel_name: str
    python: str  # interpreter path
    folder: Path | None = None
    reused: bool = False
    missing: list[str] = field(default_factory=list)  # skipped with allow_missing
    notes: list[str] = field(default_factory=list)
    requirements: dict[str, str] = field(default_factory=dict)  # what was installed on purpose


def imported_modules(sources: Iterable[str]) -> set[str]:
    """Top-level module names imported by code cells (magics and shell lines skipped)."""
    found: set[str] = set()
    for source in sources:
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def _module_distributions() -> dict[str, list[str]]:
    from importlib import metadata

    try:
        return {k: list(v) for k, v in metadata.packages_distributions().items()}
    except Exception:
        return {}


def plan(environment: Mapping[str, Any], sources: Iterable[str]) -> EnvPlan:
    """What to install to replay a notebook whose code is `sources` in its recorded environment."""
    recorded = {normalise_package(k): str(v) for k, v in (environment.get("packages") or {}).items()}
    if not recorded:
        raise EnvironmentBuildError("the run recorded no packages: its environment cannot be recreated")
    python = str((environment.get("python") or {}).get("version") or ".".join(map(str, sys.version_info[:3])))
    providers = _module_distributions()
    requirements: dict[str, str] = {}
    reasons: dict[str, str] = {}
    unknown = []
    stdlib: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    for module in sorted(imported_modules(sources)):
        if module in stdlib or module in ("nbtrack", "__future__"):
            continue
        candidates = [MODULE_ALIASES.get(module, module), *providers.get(module, [])]
        names = [normalise_package(c) for c in candidates if normalise_package(c) in recorded]
        if not names:
            unknown.append(module)
            continue
        requirements[names[0]] = recorded[names[0]]
        reasons[names[0]] = f"imported as {module}"
    for name in KERNEL_PACKAGES + LIVE_VIEW_PACKAGES + DATA_PACKAGES:
        if name in recorded:
            requirements.setdefault(name, recorded[name])
            reasons.setdefault(name, "kernel" if name in KERNEL_PACKAGES else
                               "nbtrack live views" if name in LIVE_VIEW_PACKAGES else "nbtrack data versions")
        elif name in KERNEL_PACKAGES:
            requirements[name], reasons[name] = "", "kernel (not recorded: latest)"
    constraints = {k: v for k, v in recorded.items() if k != "nbtrack" and "+" not in v}
    return EnvPlan(python, requirements, constraints, reasons, unknown)


def env_root() -> Path:
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "nbtrack" / "envs"


def _uv() -> str | None:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except Exception:
        return shutil.which("uv")


def _interpreter(version: str) -> tuple[str, str | None]:
    """A Python matching the recorded major.minor, and a note when there is none."""
    wanted = ".".join(version.split(".")[:2])
    if ".".join(map(str, sys.version_info[:2])) == wanted:
        return sys.executable, None
    found = shutil.which(f"python{wanted}")
    if found:
        return found, None
    here = ".".join(map(str, sys.version_info[:3]))
    return sys.executable, f"Python {wanted} is not installed here: the environment uses Python {here}"


def _venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=1800)


def _install_command(uv: str | None, python: Path, args: list[str]) -> list[str]:
    if uv:
        return [uv, "pip", "install", "--python", str(python), *args]
    return [str(python), "-m", "pip", "install", "--disable-pip-version-check", *args]


def _specs(requirements: Mapping[str, str]) -> list[str]:
    return [f"{name}=={version}" if version else name for name, version in sorted(requirements.items())]


def _failing(uv: str | None, python: Path, specs: list[str]) -> list[str]:
    """Which of `specs` cannot be installed even on their own (a dry run each, no constraints)."""
    return [spec for spec in specs if _run(_install_command(uv, python, ["--dry-run", spec]), spec).returncode != 0]


def _install(uv: str | None, python: Path, the_plan: EnvPlan, folder: Path, allow_missing: bool) -> list[str]:
    constraints = folder / "nbtrack-constraints.txt"
    constraints.write_text("\n".join(_specs(the_plan.constraints)) + "\n")
    specs = _specs(the_plan.requirements)
    done = _run(_install_command(uv, python, ["-c", str(constraints), *specs]), "install")
    if done.returncode == 0:
        return []
    failing = _failing(uv, python, specs)
    if not failing:
        raise EnvironmentBuildError(
            f"installing {', '.join(specs)} with the recorded versions failed:\n{done.stderr.strip()[-3000:]}"
        )
    if not allow_missing:
        raise EnvironmentBuildError(
            "these recorded packages cannot be installed here: " + ", ".join(failing)
            + " (use --allow-missing / allow_missing=True to replay without them)", failing)
    names = {spec.split("==")[0] for spec in failing}
    constraints.write_text("\n".join(_specs({k: v for k, v in the_plan.constraints.items() if k not in names})) + "\n")
    rest = [s for s in specs if s not in failing]
    done = _run(_install_command(uv, python, ["-c", str(constraints), *rest]), "install")
    if done.returncode != 0:
        raise EnvironmentBuildError(f"installing {', '.join(rest)} failed:\n{done.stderr.strip()[-3000:]}")
    for name in names:  # the package at another version is closer to the original than none
        _run(_install_command(uv, python, ["-c", str(constraints), name]), name)
    return failing


def _nbtrack_digest(package: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def install_nbtrack(python: Path) -> None:
    """Copy the running nbtrack (its Python code, no front-end bundle) into the environment."""
    package = Path(__file__).resolve().parents[1]  # the nbtrack package this module belongs to
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    target = purelib / "nbtrack"
    digest = _nbtrack_digest(package)
    stamp = target / ".nbtrack-source"
    if stamp.is_file() and stamp.read_text() == digest:
        return
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__", "labextension", "static"))
    for old in purelib.glob("nbtrack-*.dist-info"):
        shutil.rmtree(old, ignore_errors=True)
    info = purelib / f"nbtrack-{__version__}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: nbtrack\nVersion: {__version__}\n")
    (info / "INSTALLER").write_text("nbtrack-replay\n")
    (info / "RECORD").write_text("")
    stamp.write_text(digest)


def register_kernel(name: str, python: Path, display_name: str) -> None:
    """A kernelspec `name` running `python` in the user's Jupyter data folder."""
    from jupyter_core.paths import jupyter_data_dir

    folder = Path(jupyter_data_dir()) / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [str(python), "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": display_name, "language": "python", "metadata": {"debugger": True, "nbtrack": True}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _build_locks.setdefault(key, threading.Lock())


def recreate(environment: Mapping[str, Any], sources: Iterable[str], allow_missing: bool = False) -> Environment:
    """The recreated environment for a run (built once per plan; see the module docstring)."""
    the_plan = plan(environment, sources)
    key = the_plan.key
    folder = env_root() / key
    kernel_name = f"nbtrack-{key[:12]}"
    notes = [f"{len(the_plan.requirements)} packages pinned to the recorded versions "
             f"({', '.join(_specs(the_plan.requirements))}) in {folder}"]
    if the_plan.unknown_modules:
        notes.append(
            "imported modules no recorded package provides (local modules?): " + ", ".join(the_plan.unknown_modules)
        )
    with _lock_for(key), _file_lock(folder.with_suffix(".lock")):
        marker = folder / MARKER
        if marker.is_file():
            state = json.loads(marker.read_text())
            python = _venv_python(folder)
            install_nbtrack(python)
            register_kernel(kernel_name, python, f"nbtrack replay {key[:8]}")
            return Environment(
                kernel_name,
                str(python),
                folder,
                True,
                state.get("missing", []),
                [*notes, *state.get("notes", []), "reused the cached environment"],
                the_plan.requirements,
            )
        shutil.rmtree(folder, ignore_errors=True)  # a build that did not finish
        folder.parent.mkdir(parents=True, exist_ok=True)
        interpreter, python_note = _interpreter(the_plan.python)
        uv = _uv()
        cmd = (
            [uv, "venv", "-q", "--python", interpreter, str(folder)] if uv else [interpreter, "-m", "venv", str(folder)]
        )
        done = _run(cmd, "venv")
        if done.returncode != 0:
            raise EnvironmentBuildError(
                f"could not create a virtual environment in {folder}: {done.stderr.strip()[-2000:]}"
            )
        python = _venv_python(folder)
        try:
            missing = _install(uv, python, the_plan, folder, allow_missing)
            install_nbtrack(python)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        extra = [n for n in (python_note, f"not installed: {', '.join(missing)}" if missing else None) if n]
        marker.write_text(json.dumps({"plan": the_plan.__dict__, "key": key, "missing": missing, "notes": extra,
                                      "installer": "uv" if uv else "pip"}, indent=1))
        register_kernel(kernel_name, python, f"nbtrack replay {key[:8]}")
        return Environment(kernel_name, str(python), folder, False, missing, [*notes, *extra], the_plan.requirements)


class _file_lock:
    """An exclusive lock file between processes (no-op where fcntl is missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: Any = None

    def __enter__(self) -> None:
        try:
            import fcntl
        except ImportError:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


def kernel_python(kernel_name: str) -> str | None:
    """The interpreter a kernelspec runs, when it is a Python on this machine."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv = KernelSpecManager().get_kernel_spec(kernel_name).argv
    except (NoSuchKernel, Exception):
        return None
    return argv[0] if argv and "python" in Path(argv[0]).name else None


def installed_packages(python: str | None) -> dict[str, str] | None:
    """Distributions installed for `python` (this process when it is ours), or None if unknown."""
    from nbtrack.capture.environment import packages

    if python is None or os.path.realpath(python) == os.path.realpath(sys.executable) or python == "python":
        return packages()
    code = ("import json, importlib.metadata as m\n"
            "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): d.version "
            "for d in m.distributions() if d.metadata['Name']}))")
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=True)
        return json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
