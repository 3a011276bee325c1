"""When live curves show themselves, and Colab's widget manager. (In a real kernel the auto
chart is checked by test_compare.py, which executes notebooks with nbclient.)"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from nbtrack.capture import colab as colab_module
from nbtrack.widgets import auto


def test_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto, "in_kernel", lambda: True)
    monkeypatch.delenv(auto.ENV_AUTO_LIVE, raising=False)
    monkeypatch.delenv("NBTRACK_REPLAY_OF", raising=False)
    assert auto.wanted()
    monkeypatch.setenv("NBTRACK_REPLAY_OF", "01abc")
    assert not auto.wanted()  # replays run unattended
    monkeypatch.setenv(auto.ENV_AUTO_LIVE, "1")
    assert auto.wanted()
    monkeypatch.setenv(auto.ENV_AUTO_LIVE, "0")
    assert not auto.wanted()
    auto.auto_live(True)
    try:
        assert auto.wanted()  # the API switch wins over the variable
        monkeypatch.setattr(auto, "in_kernel", lambda: False)
        assert not auto.wanted()  # but never outside a kernel
    finally:
        auto.auto_live(None)


def test_plain_script_shows_nothing_and_imports_no_widgets(tmp_path: Path, child_env: dict[str, str]) -> None:
    code = (
        "import sys, nbtrack\n"
        f"with nbtrack.start('script', store={str(tmp_path / 's')!r}):\n"
        "    for i in range(100): nbtrack.log(loss=i)\n"
        "print(sorted(m for m in ('ipywidgets', 'anywidget', 'nbtrack.widgets') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=child_env | {"NBTRACK_AUTO_LIVE": "1"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_colab_custom_widget_manager_enabled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Colab's front end cannot run here: a stand-in google.colab.output records the call.
    calls: list[str] = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("enabled"))
    colab = types.ModuleType("google.colab")
    colab.output = output  # type: ignore[attr-defined]
    google = types.ModuleType("google")
    google.colab = colab  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(colab_module, "_widgets_enabled", False)
    assert colab_module.enable_widgets() and colab_module.enable_widgets()
    assert calls == ["enabled"]


def test_not_colab() -> None:
    assert "google.colab" not in sys.modules
    assert colab_module.enable_widgets() is False
