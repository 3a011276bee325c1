"""Attribution when nothing says who the user is: $NBTRACK_USER, else the Git user name, else the
OS account (a fresh laptop, a CI runner, a Colab VM have different subsets of these)."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtrack.core import identity


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No $NBTRACK_USER, a home of our own, and no login variables (getpass reads those first)."""
    for name in (identity.ENV_USER, "LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    identity._git_user.cache_clear()
    yield tmp_path
    identity._git_user.cache_clear()


def test_the_os_account_when_there_is_no_git_user(bare: Path) -> None:
    assert identity.user_name() == pwd.getpwuid(os.getuid()).pw_name


def test_the_git_user_name_before_the_os_account(bare: Path) -> None:
    (bare / ".gitconfig").write_text("[core]\n\tautocrlf = false\n[user]\n\tname = Ada Lovelace \n\temail = a@b\n")
    assert identity.user_name() == "Ada Lovelace"


@pytest.mark.parametrize("config", ["[user]\n\tname =   \n", "[user\nname = broken", "\xff\xfe garbage"])
def test_an_empty_or_unreadable_git_config_falls_back_to_the_os_account(bare: Path, config: str) -> None:
    (bare / ".gitconfig").write_bytes(config.encode("latin-1"))
    assert identity.user_name() == pwd.getpwuid(os.getuid()).pw_name


def test_nbtrack_user_wins(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (bare / ".gitconfig").write_text("[user]\n\tname = Ada\n")
    monkeypatch.setenv(identity.ENV_USER, "ana")
    assert identity.user_name() == "ana"
