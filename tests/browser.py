"""Browser fixtures for every `ui` test (lab extension, widgets, examples): one real `jupyter lab`
server (the nbtrack server extension and this checkout's built lab extension, a store of its
own) and one Playwright driver for the whole session, driving Debian's Chromium through
Playwright's sync API. Loaded once by tests/conftest.py (`pytest_plugins`): a second sync
Playwright driver in the same process would fail, so no other module may start one.

They skip only when /usr/bin/chromium is missing and $CI is unset; in CI they must run.
Screenshots go to test-artifacts/ at the repo root.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
LABEXT_SRC = ROOT / "labextension"
LABEXT_OUT = ROOT / "nbtrack" / "labextension"
# True once the current notebook `name` has an idle kernel (cells can be run).
JS_NOTEBOOK_IDLE = """(name) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && w.context.path === name;
}"""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="/usr/bin/chromium is missing (apt-get install chromium)")
    for item in items:
        if item.get_closest_marker("ui"):
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _newest_mtime(paths: list[Path]) -> float:
    times = [
        p.stat().st_mtime for top in paths for p in ([top] if top.is_file() else top.rglob("*"))
    ]
    return max(times, default=0.0)


def ensure_labextension_built() -> None:
    """Build labextension/ into nbtrack/labextension when missing or older than its sources."""
    built = LABEXT_OUT / "package.json"
    sources = [LABEXT_SRC / "src", LABEXT_SRC / "style", LABEXT_SRC / "package.json"]
    if built.exists() and built.stat().st_mtime >= _newest_mtime(sources):
        return
    jlpm = shutil.which("jlpm") or str(Path(sys.executable).parent / "jlpm")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for args in (["install"], ["build:prod"]):
        proc = subprocess.run(
            [jlpm, *args], cwd=LABEXT_SRC, env=env, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, (
            f"jlpm {args} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    store: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def page_url(self, path: str = "lab") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path}{sep}token={self.token}"

    def api(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:]


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    ensure_labextension_built()
    base = tmp_path_factory.mktemp("lab")
    root, store, config, data, labext = (
        base / n for n in ("root", "store", "config", "data", "labext")
    )
    for folder in (root, config, data, labext):
        folder.mkdir()
    # this checkout's lab extension, seen before any installed copy
    (labext / "nbtrack").symlink_to(LABEXT_OUT, target_is_directory=True)
    # no "official Jupyter news?" toast over the page
    news = base / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"nbtrack": True}}})
    )
    token, port = secrets.token_hex(16), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}
    env.update(
        NBTRACK_STORE=str(store),
        NBTRACK_INDEX_DIR=str(base / "index"),
        NBTRACK_USER="ui-tester",
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(data),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    log = base / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--allow-root",
        "--no-browser",
        f"--ServerApp.token={token}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.extra_labextensions_path={labext}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LabServer(f"http://127.0.0.1:{port}/", token, root, store, log, env)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited ({proc.returncode}):\n{server.log_tail()}")
            try:
                server.api("api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer in 90 s:\n{server.log_tail()}")
                time.sleep(0.3)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    """Per test module: a sync Playwright driver marks the main thread's event loop as running
    while it lives, which would break the async fixtures of later, non-browser tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@dataclass
class Browser:
    page: Any  # playwright.sync_api.Page
    console_errors: list[str]
    console_logs: list[str]
    dialogs: list[str]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def set_theme(browser: Browser, dark: bool) -> None:
    """Switch JupyterLab to its dark or light theme and wait until it applies."""
    page = browser.page
    theme = "JupyterLab Dark" if dark else "JupyterLab Light"
    page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
    page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=theme, timeout=20_000)
    page.wait_for_timeout(400)  # the theme's stylesheet applies, the charts redraw


@pytest.fixture
def browser(
    playwright_driver: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Browser]:
    """A fresh Chromium profile per test; console errors, logs and JS dialogs are recorded."""
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 900},
    )
    context.set_default_timeout(30_000)
    page = context.pages[0] if context.pages else context.new_page()
    state = Browser(page, [], [], [])

    def on_console(msg: Any) -> None:
        text = f"{msg.type}: {msg.text}"
        state.console_logs.append(text)
        if msg.type == "error":
            state.console_errors.append(text)

    def on_dialog(dialog: Any) -> None:
        state.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: state.console_errors.append(f"pageerror: {exc}"))
    page.on("dialog", on_dialog)
    try:
        yield state
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                state.screenshot(f"FAILED-{request.node.name}")
            except Exception:  # the page may be gone; the failure itself is what matters
                pass
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
