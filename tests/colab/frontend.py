"""A stand-in for Colab's frontend (Colab cannot run here): it drives a real kernel the way
Colab's notebook page does, over the real Jupyter messaging protocol.

It holds the live notebook as Colab does (nbformat 4.0 JSON, sources as lists of lines, cell ids
in metadata, markdown cells the kernel never sees), runs its code cells one by one, records their
outputs into it, and answers the kernel's ``colab_request`` messages on iopub (``get_ipynb``) with
an ``input_reply`` on the stdin channel carrying ``{"type": "colab_reply", "colab_msg_id": ...,
"data": {"ipynb": <the live notebook>}}``, which is what ``google.colab._message`` waits for.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager


def colab_notebook(cells: list[tuple[str, str]]) -> dict[str, Any]:
    """A notebook as Colab's frontend holds it: (cell_type, source) pairs."""
    return {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {"colab": {"provenance": [], "name": "team-experiment.ipynb"},
                     "kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [
            {"cell_type": kind, "metadata": {"id": f"colab{i:04d}"}, "source": source.splitlines(keepends=True),
             **({"outputs": [], "execution_count": None} if kind == "code" else {})}
            for i, (kind, source) in enumerate(cells)
        ],
    }


class ColabFrontend:
    def __init__(self, notebook: dict[str, Any], env: dict[str, str], cwd: Path) -> None:
        self.notebook = notebook
        self.requests: list[str] = []
        self.manager = KernelManager(kernel_name="python3")
        # Colab's kernel has google.colab loaded from the start.
        self.manager.start_kernel(env=env, cwd=str(cwd),
                                  extra_arguments=["--IPKernelApp.exec_lines=import google.colab"])
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run_all(self, timeout: float = 120) -> None:
        for cell in self.notebook["cells"]:
            if cell["cell_type"] == "code":
                self._run(cell, timeout)

    def run(self, *indices: int, timeout: float = 120) -> None:
        for index in indices:
            self._run(self.notebook["cells"][index], timeout)

    def edit(self, index: int, source: str) -> None:
        """Type into a cell: Colab's notebook (what ``get_ipynb`` returns) changes at once."""
        self.notebook["cells"][index]["source"] = source.splitlines(keepends=True)

    def _run(self, cell: dict[str, Any], timeout: float) -> None:
        msg_id = self.client.execute("".join(cell["source"]), store_history=True)
        outputs: list[dict[str, Any]] = []
        while True:
            msg = self.client.get_iopub_msg(timeout=timeout)
            kind, content = msg["msg_type"], msg["content"]
            if kind == "colab_request":  # routed by session, not by the cell's msg_id
                self._answer(msg)
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if kind == "status" and content["execution_state"] == "idle":
                break
            if kind == "stream":
                outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
            elif kind in ("display_data", "execute_result"):
                outputs.append(
                    {
                        "output_type": kind,
                        "data": content["data"],
                        "metadata": content.get("metadata", {}),
                        **({"execution_count": content["execution_count"]} if kind == "execute_result" else {}),
                    }
                )
            elif kind == "error":
                outputs.append({"output_type": "error", "ename": content["ename"], "evalue": content["evalue"],
                                "traceback": content["traceback"]})
        reply = self.client.get_shell_msg(timeout=timeout)
        cell["execution_count"] = reply["content"].get("execution_count")
        cell["outputs"] = outputs

    def _answer(self, msg: dict[str, Any]) -> None:
        request_type = msg["metadata"].get("colab_request_type")
        self.requests.append(request_type)
        value: dict[str, Any] = {"type": "colab_reply", "colab_msg_id": msg["metadata"]["colab_msg_id"]}
        if request_type == "get_ipynb":
            value["data"] = {"ipynb": copy.deepcopy(self.notebook)}
        else:
            value["error"] = f"unsupported request {request_type!r}"
        self.client.stdin_channel.send(self.client.session.msg("input_reply", {"value": value}))

    def text_of(self, index: int) -> str:
        return "".join(o.get("text", "") for o in self.notebook["cells"][index]["outputs"])

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def fake_colab_path() -> str:
    """The folder holding the stand-in ``google.colab`` package (for PYTHONPATH)."""
    return os.fspath(Path(__file__).resolve().parents[1] / "fakes")
