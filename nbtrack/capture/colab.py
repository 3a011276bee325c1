"""Google Colab: the notebook through Colab's frontend API, widgets through its custom widget
manager, and team stores on Google Drive.

* **Notebook.** Colab's kernel has no notebook file: ``fetch_notebook()`` asks the frontend for
  the live notebook with ``google.colab._message.blocking_request("get_ipynb")`` (a private API:
  the request goes out on iopub, the reply comes back on the stdin channel) and normalises it
  with nbformat (Colab sends sources as lists of lines and older minor versions).
* **Widgets.** Colab renders third-party widgets only through its custom widget manager;
  ``prepare_kernel()`` (run by ``%load_ext nbtrack``) enables it once, so every nbtrack widget
  (live curves, tables) shows.
* **Drive.** A store under ``/content/drive/...`` is Google Drive only once Drive is mounted;
  before that the local store backend refuses to create it, with the message below, instead of
  writing the runs to the VM's disk, which Colab deletes with the VM.
* **Who.** Colab kernels run as ``root``, and the signed-in Google account cannot be read
  without a network call to Google, so attribution there comes from ``$NBTRACK_USER``
  (``%env NBTRACK_USER=ana``); ``prepare_kernel()`` says so once when it is not set.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from nbtrack.core.identity import ENV_USER, user_name
from nbtrack.store.local import DRIVE_NOT_MOUNTED, unmounted_drive

GET_IPYNB_TIMEOUT = 10.0
_prepared = False
_widgets_enabled = False

__all__ = ["DRIVE_NOT_MOUNTED", "enable_widgets", "fetch_notebook", "in_colab", "prepare_kernel", "unmounted_drive"]


def in_colab() -> bool:
    """Whether this kernel is a Colab kernel (its ``google.colab`` is loaded at start-up)."""
    return "google.colab" in sys.modules


def fetch_notebook(timeout: float = GET_IPYNB_TIMEOUT) -> dict[str, Any] | None:
    """The live notebook as an nbformat v4 dict, asked from Colab's frontend; None outside
    Colab, on timeout, or when the frontend answers with an error.

    Call it from the kernel's main thread (a cell, a magic, a cell hook): the reply arrives on
    the stdin channel, which only the main thread reads.
    """
    if not in_colab():
        return None
    try:
        from google.colab import _message

        reply = _message.blocking_request("get_ipynb", request="", timeout_sec=timeout)
    except Exception:
        return None
    notebook = reply.get("ipynb") if isinstance(reply, dict) else None
    if not isinstance(notebook, dict):
        return None
    return normalise(notebook)


def normalise(notebook: dict[str, Any]) -> dict[str, Any] | None:
    """`notebook` as a valid nbformat v4 dict: sources joined, cell ids added, minor upgraded."""
    try:
        import nbformat

        node = nbformat.reads(json.dumps(notebook), as_version=4)
        _changes, node = nbformat.validator.normalize(node)
        if node.get("nbformat_minor", 0) < 5:
            node["nbformat_minor"] = 5
            for index, cell in enumerate(node["cells"]):
                cell.setdefault("id", str(cell.get("metadata", {}).get("id") or f"cell-{index}"))
        nbformat.validate(nbformat.from_dict(node))
        return json.loads(json.dumps(node))
    except Exception:
        return None


def enable_widgets() -> bool:
    """In Colab, turn on its custom widget manager (needed for any third-party widget), once;
    returns whether it is on. Outside Colab: False, and nothing happens."""
    global _widgets_enabled
    if not in_colab():
        return False
    if not _widgets_enabled:
        try:
            from google.colab import output

            output.enable_custom_widget_manager()
        except Exception as exc:
            print(f"nbtrack: Colab's custom widget manager could not be enabled ({exc!r}); "
                  "live views may not render", file=sys.stderr)
            return False
        _widgets_enabled = True
    return True


def prepare_kernel() -> bool:
    """In Colab: enable the custom widget manager (once) and point out attribution; elsewhere
    nothing. Returns whether this is Colab."""
    global _prepared
    if not in_colab():
        return False
    if _prepared:
        return True
    _prepared = True
    enable_widgets()
    if not os.environ.get(ENV_USER) and user_name() == "root":
        print(f"nbtrack: Colab does not tell the kernel who you are; runs will name 'root' until you "
              f"set %env {ENV_USER}=your-name", file=sys.stderr)
    return True
