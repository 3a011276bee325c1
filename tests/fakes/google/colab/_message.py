"""Stand-in for ``google.colab._message``: the kernel side of Colab's request/reply protocol,
over the real kernel's iopub and stdin sockets (see the package docstring)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import zmq
from google.colab import errors
from ipykernel import kernelapp

_NOT_READY = object()


class MessageError(errors.Error):
    """The frontend answered with an error."""


def _read_next_input_message() -> Any:
    kernel = kernelapp.IPKernelApp.instance().kernel
    try:
        _ident, reply = kernel.session.recv(kernel.stdin_socket, zmq.NOBLOCK)
    except Exception:
        return ""  # a malformed message counts as an empty reply
    if reply is None:
        return _NOT_READY
    return reply.get("content", {}).get("value", "")


def read_reply_from_input(message_id: str, timeout_sec: float | None = None) -> Any:
    deadline = time.time() + timeout_sec if timeout_sec else None
    while deadline is None or time.time() < deadline:
        reply = _read_next_input_message()
        if reply is _NOT_READY or not isinstance(reply, dict):
            time.sleep(0.025)
            continue
        if reply.get("type") == "colab_reply" and reply.get("colab_msg_id") == message_id:
            if "error" in reply:
                raise MessageError(reply["error"])
            return reply.get("data")
    return None


def send_request(request_type: str, request_body: Any, parent: Any = None) -> str:
    app = kernelapp.IPKernelApp.instance()
    request_id = str(uuid.uuid4())
    if parent is None:
        parent_header = app.kernel.shell.parent_header
        if parent_header:
            parent = {"header": {"session": parent_header["header"]["session"]}}
    message = app.session.msg(
        "colab_request",
        content={"request": request_body},
        metadata={"colab_msg_id": request_id, "colab_request_type": request_type},
        parent=parent,
    )
    app.session.send(app.iopub_socket, message)
    return request_id


def blocking_request(request_type: str, request: Any = "", timeout_sec: float | None = 5, parent: Any = None) -> Any:
    return read_reply_from_input(send_request(request_type, request, parent=parent), timeout_sec)
