"""The wheel carries the prebuilt JupyterLab extension and the server config, and both are
found by Jupyter once the wheel is installed in a fresh environment.

Builds from a clean copy of the working tree (no node_modules, no earlier build output), so
the node build really runs through hatch-jupyter-builder. Needs node and the npm registry.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "nbtrack" / "_version.py").read_text().split("=")[1].strip().strip("\"'")
LABEXT = "share/jupyter/labextensions/nbtrack"
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/nbtrack.json"
# Left out of the copy: anything a previous build or a developer's machine produced.
IGNORED_ANYWHERE = {
    ".git",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".nbtrack",
    ".venv",
}
IGNORED_AT = {
    ROOT: {"dist", "build", "test-artifacts"},
    ROOT / "labextension": {"lib", ".yarn", "tsconfig.tsbuildinfo"},
    ROOT / "nbtrack": {"labextension"},  # the build output, git-ignored
    ROOT / "benchmarks": {".work"},
}


def _ignore(folder: str, names: list[str]) -> set[str]:
    here = IGNORED_AT.get(Path(folder), set())
    return {n for n in names if n in IGNORED_ANYWHERE or n in here or n.endswith(".egg-info")}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "PIP_"))}
    env.pop("SKIP_JUPYTER_BUILDER", None)
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def _text(proc: subprocess.CompletedProcess[str]) -> str:
    """stdout + stderr without terminal colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if shutil.which("node") is None:
        pytest.fail("node is needed to build the lab extension (node >= 20.19)")
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=_ignore, symlinks=True)
    assert not (src / "labextension" / "node_modules").exists()
    assert not (src / "nbtrack" / "labextension").exists()
    started = time.monotonic()
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(work / "dist"), str(src)],
        env=_env(),
        timeout=900,
    )
    print(f"pip wheel took {time.monotonic() - started:.1f}s")
    wheels = list((work / "dist").glob("nbtrack-*.whl"))
    assert len(wheels) == 1, wheels
    yield wheels[0]


def test_wheel_holds_prebuilt_extension_and_server_config(wheel: Path) -> None:
    assert wheel.name.startswith(f"nbtrack-{VERSION}-")
    data = f"nbtrack-{VERSION}.data/data"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        package = json.loads(zf.read(f"{data}/{LABEXT}/package.json"))
        install = json.loads(zf.read(f"{data}/{LABEXT}/install.json"))
        config = json.loads(zf.read(f"{data}/{SERVER_CONFIG}"))
        remote = [n for n in names if n.startswith(f"{data}/{LABEXT}/static/remoteEntry.")]
        assert len(remote) == 1, remote
        bundle = "".join(
            zf.read(n).decode() for n in names if n.startswith(f"{data}/{LABEXT}/static/")
        )

    assert package["name"] == "nbtrack"
    assert package["version"] == VERSION
    # jupyter-builder writes _build only for a real federated build
    assert package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert f"{data}/{LABEXT}/static/style.js" in names
    assert "_JUPYTERLAB" in bundle and "nbtrack:plugin" in bundle
    assert install["packageManager"] == "python"
    assert install["packageName"] == "nbtrack"
    assert config == {"ServerApp": {"jpserver_extensions": {"nbtrack": True}}}
    assert "nbtrack/__init__.py" in names
    # what a shared report inlines: its script, styles and nbconvert template (and the widgets')
    assert {"nbtrack/htmlreport/report.js", "nbtrack/htmlreport/report.css", "nbtrack/widgets/charts.js",
            "nbtrack/htmlreport/templates/nbtrack_snapshot/index.html.j2",
            "nbtrack/htmlreport/templates/nbtrack_snapshot/conf.json"} <= names
    # no sources or node modules leak into the wheel
    assert not [n for n in names if "node_modules" in n or n.endswith(".ts")]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh venv with the wheel, seeing this interpreter's other packages (jupyterlab...)
    through a .pth file (its own nbtrack, if any, is not visible: nested .pth are not read)."""
    work = tmp_path_factory.mktemp("venv")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    py = venv / "bin" / "python"
    site = Path(
        _run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        ).stdout.strip()
    )
    parents = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "_nbtrack_test_parent.pth").write_text("\n".join(sorted(parents)) + "\n")
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], env=_env())
    (work / "config").mkdir()
    (work / "data").mkdir()
    env = _env(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        JUPYTER_CONFIG_DIR=str(work / "config"),
        JUPYTER_DATA_DIR=str(work / "data"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    # run outside the checkout, so that `python -c` does not import ./nbtrack
    where = _run(
        [str(py), "-c", "import nbtrack; print(nbtrack.__file__)"], env=env, cwd=work
    ).stdout
    assert where.strip().startswith(str(venv)), where
    yield {"python": str(py), "prefix": str(venv), "cwd": str(work), **env}


def test_installed_wheel_enables_lab_extension(installed: dict[str, str]) -> None:
    py = installed["python"]
    prefix = Path(installed["prefix"])
    assert (prefix / LABEXT / "package.json").is_file()
    assert (prefix / SERVER_CONFIG).is_file()
    out = _run([py, "-m", "jupyterlab.labextensions", "list"], env=installed, cwd=installed["cwd"])
    text = _text(out)
    line = next((ln for ln in text.splitlines() if ln.strip().startswith("nbtrack ")), "")
    assert f"v{VERSION}" in line and "enabled" in line and "OK" in line, text


def test_installed_wheel_enables_server_extension(installed: dict[str, str]) -> None:
    py = installed["python"]
    out = _run(
        [py, "-m", "jupyter_server.extension.serverextension", "list"],
        env=installed,
        cwd=installed["cwd"],
    )
    text = _text(out)
    assert "nbtrack enabled" in text, text
    # validation imports nbtrack.server and finds its _load_jupyter_server_extension
    assert f"nbtrack {VERSION} OK" in text, text
