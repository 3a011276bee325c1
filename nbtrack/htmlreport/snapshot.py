"""Notebook snapshots as HTML for the report, rendered by nbconvert's HTML exporter (its lab
template, with the outputs), never by hand.

The template (``templates/nbtrack_snapshot``) drops every script and CDN reference of the lab
page and adds the dark theme under ``prefers-color-scheme``. Outputs are kept as they were
(nbconvert's sanitizer would escape headings and paragraphs too): the report's script makes
each page inert with the browser's parser and shows it in a sandboxed frame, so nothing in an
output runs or loads. The page's head (about 300 KB of JupyterLab styles) is the same for every
snapshot, so the report keeps it once and each snapshot's cells apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from nbtrack.core.nbjson import cell_source
from nbtrack.core.redact import Redactor

TEMPLATES = Path(__file__).resolve().parent / "templates"
CELLS, END = "<!--nbtrack:cells-->", "<!--nbtrack:end-->"


@dataclass
class SnapshotRenderer:
    """Renders notebooks one by one; `head` is the shared page head once one was rendered."""

    redactor: Redactor
    head: str = ""
    bodies: list[str] = field(default_factory=list)

    @cached_property
    def exporter(self) -> Any:  # nbconvert.HTMLExporter
        from nbconvert import HTMLExporter

        return HTMLExporter(template_name="nbtrack_snapshot", extra_template_basedirs=[str(TEMPLATES)])

    @cached_property
    def dark_css(self) -> str:
        for folder in self.exporter.template_paths:
            path = Path(folder) / "static" / "theme-dark.css"
            if path.is_file():
                return path.read_text(encoding="utf-8")
        return ""

    def add(self, nb: Any, name: str) -> int:
        """Render `nb` (an nbformat NotebookNode); returns the index of its cells in `bodies`."""
        for cell in nb.cells:
            cell.source = self.redactor.text(cell_source(cell), code=cell.cell_type == "code")
        resources = {"metadata": {"name": name or "notebook"}, "nbtrack_dark_css": self.dark_css}
        page, _ = self.exporter.from_notebook_node(nb, resources=resources)
        head, cells_start = page.split(CELLS, 1)
        body = cells_start.split(END, 1)[0]
        self.head = self.head or head
        self.bodies.append(body)
        return len(self.bodies) - 1

    def page(self, index: int) -> str:
        """Snapshot `index` as one HTML page (what the report's frame shows)."""
        return f"{self.head}{self.bodies[index]}</body></html>"
