"""One self-contained HTML file: the report's JSON, its styles and one script, all inline.

The script is the widgets' own front end (vendored uPlot, ``dom.js``, ``charts.js``, and the
compare and confusion views, each ES module turned into an expression) followed by
``report.js``. A content-security policy in the page allows that one script (by its sha256
hash), inline styles, and images and fonts from ``data:`` URLs; nothing else, so opening the
file makes no request. Data goes in as JSON in ``<script type="application/json">`` blocks
with every ``<`` escaped, so no user text can close them.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from nbtrack._version import __version__
from nbtrack.core.values import json_ready

HERE = Path(__file__).resolve().parent
WIDGETS = HERE.parent / "widgets"
CHART_CODE = ("vendor/uPlot.iife.min.js", "dom.js", "charts.js")
VIEWS = {"compare": "compare.js", "confusion": "confusion.js"}
STYLES = (WIDGETS / "vendor/uPlot.min.css", WIDGETS / "widgets.css", HERE / "report.css")
_EXPORT = re.compile(r"^export default ", re.MULTILINE)


def module_expression(source: str, name: str) -> str:
    """A widget's ES module (one ``export default`` at the end, no imports) as an expression
    giving what it exports, so the report stays one classic script."""
    if len(_EXPORT.findall(source)) != 1 or re.search(r"^(import|export) ", _EXPORT.sub("", source), re.MULTILINE):
        raise ValueError(f"{name}: expected an ES module with one 'export default' and no imports")
    return "(() => {\n" + _EXPORT.sub("return ", source) + "\n})()"


@cache
def script() -> str:
    parts = [(WIDGETS / name).read_text(encoding="utf-8") for name in CHART_CODE]
    views = ",\n".join(f"{key}: {module_expression((WIDGETS / name).read_text(encoding='utf-8'), name)}"
                       for key, name in VIEWS.items())
    parts.append(f"const NBTRACK_VIEWS = {{\n{views}\n}};")
    parts.append((HERE / "report.js").read_text(encoding="utf-8"))
    code = "\n".join(parts)
    if "</script" in code.lower():
        raise ValueError("the report's script may not hold '</script'")
    return code


@cache
def styles() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in STYLES)


def script_hash(code: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode("ascii")


def policy(code: str) -> str:
    return (f"default-src 'none'; script-src '{script_hash(code)}'; style-src 'unsafe-inline'; img-src data:; "
            "font-src data:; base-uri 'none'; form-action 'none'")


def json_block(element_id: str, value: Any) -> str:
    text = json.dumps(json_ready(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def html_page(content: dict[str, Any], snapshot_head: str, snapshot_bodies: list[str]) -> str:
    code = script()
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{policy(code)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f'<meta name="generator" content="nbtrack {html.escape(__version__)}">',
        f"<title>{html.escape(str(content.get('title') or 'nbtrack report'))}</title>",
        f"<style>\n{styles()}\n</style>",
        "</head>",
        "<body>",
        '<main id="nbtrack-report" class="nbw-root rp">',
        "<noscript>This report draws its charts and tables with JavaScript; allow it for this file.</noscript>",
        "</main>",
        json_block("nbtrack-data", content),
        json_block("nbtrack-snapshots", {"head": snapshot_head, "bodies": snapshot_bodies}),
        f"<script>{code}</script>",
        "</body>",
        "</html>",
        "",
    ])
