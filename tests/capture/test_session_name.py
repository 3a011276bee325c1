"""``$JPY_SESSION_NAME`` names the notebook only when it plausibly is this kernel's: the file
exists, is a notebook, was saved after the kernel started (less a margin), and our parent is not
itself a kernel or papermill (their children inherit the variable from another notebook)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbtrack.capture.notebook import SESSION_NAME_MARGIN, session_name_path


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "analysis.ipynb"
    path.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    return path


def test_a_fresh_notebook_is_taken(notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert session_name_path() == str(notebook)


def test_a_relative_name_is_made_absolute(notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(notebook.parent)
    monkeypatch.setenv("JPY_SESSION_NAME", notebook.name)
    assert session_name_path() == str(notebook)


@pytest.mark.parametrize("name", ["missing.ipynb", "notes.txt", ""])
def test_a_missing_file_or_not_a_notebook_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      name: str) -> None:
    if name.endswith(".txt"):
        (tmp_path / name).write_text("x")
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / name) if name else "")
    assert session_name_path() is None


def test_a_notebook_saved_long_before_this_kernel_started_is_ignored(notebook: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil

    started = psutil.Process().create_time()
    old = started - SESSION_NAME_MARGIN - 60
    os.utime(notebook, (old, old))
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert session_name_path() is None
    recent = started - SESSION_NAME_MARGIN + 60
    os.utime(notebook, (recent, recent))
    assert session_name_path() == str(notebook)


CHILD = "from nbtrack.capture.notebook import session_name_path; print(session_name_path())"


@pytest.mark.parametrize("parent_word", ["papermill", "ipykernel_launcher"])
def test_a_child_of_papermill_or_a_kernel_does_not_trust_the_inherited_name(notebook: Path, parent_word: str) -> None:
    """A real parent process whose command line says papermill (or a kernel) starts the child."""
    env = os.environ | {"JPY_SESSION_NAME": str(notebook)}
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {CHILD!r}])"
    out = subprocess.run([sys.executable, "-c", parent, parent_word], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "None"
    # the same child under a plain parent takes the name: the refusal above is the parent's doing
    plain = subprocess.run([sys.executable, "-c", parent], env=env, capture_output=True, text=True,
                           timeout=60, check=True).stdout
    assert plain.strip() == str(notebook)
