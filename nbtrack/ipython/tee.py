"""Copy what a cell shows (stdout, stderr, rich display data, its result) while it runs.

The kernel keeps sending everything to the frontend as before; a tee on ``sys.stdout``/``stderr``,
the display publisher and the display hook also appends it to the current cell's buffer. The
buffer holds references only (no copy, no serialisation) and stops growing past its cap, counting
what it dropped. nbtrack's own displays (the automatic live chart, marked in its display
metadata, and any nbtrack widget: live curves, tables, compare) are not the user's outputs: the
buffer counts them apart (`own`) and they never reach the stored outputs. Converting to nbformat
outputs happens later, in the run's writer thread (``nbtrack.capture.outputs``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from nbtrack.capture.outputs import Item
from nbtrack.core.outputs import is_own
from nbtrack.core.snapshot import WIDGET_VIEW


class OutputBuffer:
    """The current cell's outputs, capped at `limit` bytes of text plus `max_items` items."""

    __slots__ = ("dropped", "items", "limit", "max_items", "own", "size")

    def __init__(self, limit: int, max_items: int = 1000) -> None:
        self.items: list[Item] = []
        self.own = 0
        self.size = 0
        self.dropped = 0
        self.limit = limit
        self.max_items = max_items

    def stream(self, name: str, text: str) -> None:
        if self.size < self.limit and len(self.items) < self.max_items:
            self.items.append(("stream", name, text))
            self.size += len(text)
        else:
            self.dropped += len(text)

    def display(self, kind: str, data: Any, metadata: Any) -> None:
        if len(self.items) < self.max_items:
            self.items.append((kind, data, metadata))
        else:
            self.dropped += 1


class OutputTee:
    """Patches the shell's output paths to copy into `current()` (the active buffer or None);
    `on_error` is called (once) if the copying itself fails, and the tee then removes itself."""

    def __init__(
        self, shell: Any, current: Callable[[], OutputBuffer | None], on_error: Callable[[BaseException], None]
    ) -> None:
        self.shell = shell
        self.current = current
        self.on_error = on_error
        self._undo: list[Callable[[], None]] = []

    def install(self) -> None:
        self.ensure_streams()
        publisher = getattr(self.shell, "display_pub", None)
        if publisher is not None and hasattr(publisher, "publish"):
            self._wrap(publisher, "publish", self._on_display)
        hook = getattr(self.shell, "displayhook", None)
        if hook is not None and hasattr(hook, "write_format_data"):
            self._wrap(hook, "write_format_data", self._on_result)

    def remove(self) -> None:
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception:
                pass

    def _wrap(self, owner: Any, attr: str, copy: Callable[..., None]) -> None:
        original = getattr(owner, attr)
        had_own = attr in getattr(owner, "__dict__", {})

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                copy(*args, **kwargs)
            except Exception as exc:
                self._failed(exc)
            return original(*args, **kwargs)

        setattr(owner, attr, wrapper)

        def undo() -> None:
            if had_own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)

        self._undo.append(undo)

    def ensure_streams(self) -> None:
        """Tee ``sys.stdout``/``stderr`` unless already teed. Called before each cell: IPython 9
        patches ``write`` around every cell and puts the previous one back afterwards."""
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name, None)
            if stream is not None and not getattr(getattr(stream, "write", None), "_nbtrack_tee", False):
                self._tee_stream(name, stream)

    def _tee_stream(self, name: str, stream: Any) -> None:
        original = stream.write

        def write(text: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                buffer = self.current()
                if buffer is not None and isinstance(text, str):
                    buffer.stream(name, text)
            except Exception as exc:
                self._failed(exc)
            return original(text, *args, **kwargs)

        write._nbtrack_tee = True  # type: ignore[attr-defined]
        try:
            stream.write = write
        except (AttributeError, TypeError):  # a plain TextIOWrapper (terminal IPython): proxy it
            proxy = _StreamProxy(stream, write)
            setattr(sys, name, proxy)
            self._undo.append(lambda: setattr(sys, name, stream) if getattr(sys, name) is proxy else None)
            return

        def undo() -> None:
            if getattr(stream, "write", None) is write:
                stream.write = original

        self._undo.append(undo)

    def _on_display(self, data: Any, metadata: Any = None, *args: Any, update: bool = False, **kwargs: Any) -> None:
        buffer = self.current()
        if buffer is not None and not update and isinstance(data, dict):
            if is_own_display(data, metadata):
                buffer.own += 1
            else:
                buffer.display("display", data, metadata)

    def _on_result(self, format_dict: Any, md_dict: Any = None) -> None:
        buffer = self.current()
        if buffer is not None and isinstance(format_dict, dict):
            if is_own_display(format_dict, md_dict):
                buffer.own += 1
            else:
                buffer.display("result", format_dict, md_dict)

    def _failed(self, exc: BaseException) -> None:
        self.remove()
        self.on_error(exc)


def is_own_display(data: dict[str, Any], metadata: Any) -> bool:
    """A display of nbtrack's own: marked ``metadata.nbtrack.own``, or a view of an nbtrack widget."""
    if isinstance(metadata, dict) and is_own({"metadata": metadata}):
        return True
    view = data.get(WIDGET_VIEW)
    if not isinstance(view, dict):
        return False
    widgets = sys.modules.get("ipywidgets")
    registry = getattr(getattr(widgets, "Widget", None), "widgets", None) or {}
    widget = registry.get(view.get("model_id"))
    return widget is not None and type(widget).__module__.startswith("nbtrack.")


class _StreamProxy:
    def __init__(self, stream: Any, write: Callable[[Any], Any]) -> None:
        self._stream = stream
        self.write = write

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
