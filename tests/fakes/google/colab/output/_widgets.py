"""Stand-in for ``google.colab.output._widgets``: Colab's custom widget manager switch. Enabling
it marks every widget view's display metadata with the manager's URL, as Colab does (anywidget
reads ``_installed_url`` from here)."""

from __future__ import annotations

from typing import Any

import IPython

_WIDGET_MIME_TYPE = "application/vnd.jupyter.widget-view+json"
_MANAGER_URL = "https://ssl.gstatic.com/colaboratory-static/widgets/colab-cdn-widget-manager/{}/manager.min.js"
_supported_widgets_versions = {"5.0.0a": "bf763107cca07459"}
_installed_url: str | None = None


def enable_custom_widget_manager(version: str = "5.0.0a") -> None:
    digest = _supported_widgets_versions.get(version)
    if not digest:
        raise ValueError(f"Unknown widgets version: {version}")
    _install(_MANAGER_URL.format(digest))


def disable_custom_widget_manager() -> None:
    _install(None)


def _install(url: str | None) -> None:
    global _installed_url
    publisher = IPython.get_ipython().display_pub
    if url and not _installed_url:
        publisher.register_hook(_widget_display_hook)
    elif not url and _installed_url:
        publisher.unregister_hook(_widget_display_hook)
    _installed_url = url


def _widget_display_hook(msg: dict[str, Any]) -> dict[str, Any]:
    content = msg.get("content") or {}
    if not _installed_url or _WIDGET_MIME_TYPE not in content.get("data", {}):
        return msg
    metadata = content.setdefault("metadata", {}).setdefault(_WIDGET_MIME_TYPE, {})
    metadata["colab"] = {"custom_widget_manager": {"url": _installed_url}}
    return msg
