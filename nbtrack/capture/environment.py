"""The environment a run ran in, captured once per run and stored once per distinct content.

Import-light on purpose (stdlib only at import): ``nbtrack.start()`` calls `capture_for` for every
run, scripts included. The work itself (listing installed distributions, asking git and
nvidia-smi) runs in the run's background writer.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from nbtrack.core import records
from nbtrack.core.framing import json_bytes
from nbtrack.core.redact import Redactor, is_secret_name

ALLOWED_VARIABLES = frozenset({
    "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "VIRTUAL_ENV", "LD_LIBRARY_PATH", "JAVA_HOME",
    "SPARK_HOME", "MPLBACKEND", "TOKENIZERS_PARALLELISM", "AWS_REGION", "AWS_DEFAULT_REGION",
    "NUMEXPR_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "TRANSFORMERS_CACHE",
})
ALLOWED_PREFIXES = ("PYTHON", "CUDA_", "NVIDIA_", "OMP_", "MKL_", "CONDA_", "TF_", "TORCH", "HF_",
                    "JAX_", "XLA_", "KMP_", "NBTRACK_", "JUPYTER_", "SLURM_", "PIP_")
GPU_QUERY = "name,memory.total,driver_version"
ENV_SWITCH = "NBTRACK_CAPTURE_ENV"  # "0" turns environment capture off

def environment_variables(environ: Mapping[str, str], redactor: Redactor) -> dict[str, Any]:
    allowlisted: dict[str, str] = {}
    redacted: list[str] = []
    for name in sorted(environ):
        if name not in ALLOWED_VARIABLES and not name.startswith(ALLOWED_PREFIXES):
            continue
        if is_secret_name(name):
            redacted.append(name)
        else:
            allowlisted[name] = redactor.text(environ[name])
    return {"allowlisted": allowlisted, "redacted": redacted}


_packages_cache: tuple[tuple[tuple[str, int], ...], dict[str, str]] | None = None


def _path_state() -> tuple[tuple[str, int], ...]:
    """sys.path folders with their modification times: an install or uninstall changes one."""
    state = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            continue
    return tuple(state)


def packages() -> dict[str, str]:
    """Installed distributions -> versions (importlib.metadata; no pip subprocess). Listed once
    per process and again only after something was installed or removed."""
    global _packages_cache
    state = _path_state()
    if _packages_cache is not None and _packages_cache[0] == state:
        return dict(_packages_cache[1])
    found = _list_packages()
    _packages_cache = (state, found)
    return dict(found)


def _list_packages() -> dict[str, str]:
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
        except Exception:
            continue
        if name:
            found.setdefault(name.lower().replace("_", "-"), dist.version)
    return dict(sorted(found.items()))


def memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:
        return None


def gpus() -> list[dict[str, str]]:
    """NVIDIA GPUs through nvidia-smi when it is installed; [] otherwise."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        done = subprocess.run([exe, f"--query-gpu={GPU_QUERY}", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in done.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            found.append({"name": parts[0], "memory_total": parts[1], "driver_version": parts[2]})
    return found


def conda() -> dict[str, Any] | None:
    prefix = os.environ.get("CONDA_PREFIX")
    if not prefix and os.path.isdir(os.path.join(sys.prefix, "conda-meta")):
        prefix = sys.prefix
    if not prefix:
        return None
    return {"name": os.environ.get("CONDA_DEFAULT_ENV") or os.path.basename(prefix), "prefix": prefix}


def capture(folder: str | None = None, kernel_name: str | None = None,
            environ: Mapping[str, str] | None = None, redactor: Redactor | None = None) -> dict[str, Any]:
    """The environment as a JSON-ready dict (see the module docstring); secrets redacted (by
    `redactor`, the run's registry, when given: what the git diff reveals is masked after)."""
    from nbtrack.capture.git import git_state

    env = os.environ if environ is None else environ
    redactor = redactor or Redactor.from_environ(env)
    git = git_state(folder or os.getcwd())
    if git is not None:
        git["diff"] = redactor.text(git["diff"])
    return {
        "python": {"version": platform.python_version(), "executable": sys.executable,
                   "implementation": platform.python_implementation()},
        "platform": {"system": platform.system(), "release": platform.release(), "machine": platform.machine(),
                     "platform": platform.platform(), "libc": "-".join(platform.libc_ver()).strip("-") or None},
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "gpus": gpus(),
        "packages": packages(),
        "conda": conda(),
        "git": git,
        "env_vars": environment_variables(env, redactor),
        "kernel": {"name": kernel_name},
    }


def capture_for(run: Any) -> None:
    """Record `run`'s environment once, in its writer thread (unless ``$NBTRACK_CAPTURE_ENV=0``):
    git state of the notebook's folder (else the working folder), the kernel from its header."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return
    header = run.header
    notebook = header.get("notebook")
    folder = os.path.dirname(notebook) if notebook else header.get("cwd")
    kernel_name = header.get("kernel_name")

    def record() -> list[records.EnvRecord]:
        found = capture(folder, kernel_name, redactor=getattr(run, "redactor", None))
        data = json_bytes(found, sort_keys=True)
        return [records.env(run.store.put_blob(data))]

    run.defer(record)
