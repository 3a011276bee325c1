"""Stand-in for ``google.colab.drive``: mounting makes ``<mountpoint>/MyDrive`` appear, a local
folder standing in for Google Drive (see the package docstring)."""

from __future__ import annotations

import os


def mount(mountpoint: str, force_remount: bool = False, timeout_ms: int = 120000, readonly: bool = False) -> None:
    os.makedirs(os.path.join(mountpoint, "MyDrive"), exist_ok=True)
    print(f"Mounted at {mountpoint}")
