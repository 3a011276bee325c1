"""Notebook snapshots stored cell by cell: an nbformat v4 notebook <-> per-cell blobs + a manifest.

Each cell is one content-addressed JSON blob, so a cell that did not change between snapshots
(or between runs) is stored once. The manifest lists the cells' hashes in order::

    {"nbformat": 4, "nbformat_minor": N, "metadata": {...}, "cells": [<sha256>, ...]}

Before storing, widget state is stripped (``metadata.widgets`` and widget-view outputs: a plotly
FigureWidget alone carries ~5 MB) and so are nbtrack's own displays (a live chart is not the
user's output); sources and outputs are redacted, outputs are capped and their large values
stored as blobs of their own (``core.outputs``), and the whole notebook must pass
``nbformat.validate``. A cell whose source in the notebook file differs from the source that ran
(an unsaved edit) holds what ran, marked ``metadata.nbtrack.unsaved`` with the file's source
beside it (``capture.kernel_view``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from nbtrack.core.framing import json_bytes
from nbtrack.core.nbjson import multiline
from nbtrack.core.outputs import DEFAULT_MAX_OUTPUT_BYTES, inline, is_own, prepare
from nbtrack.core.redact import Redactor

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NBFORMAT_MINOR = 5  # cell ids
PARALLEL_WRITES_FROM = 4
_JOINED = ("text/", "image/svg")  # mime types whose value nbformat may split into lines

PutBlob = Callable[[bytes], str]
GetBlob = Callable[[str], bytes]


def canonical(value: Any) -> bytes:
    return json_bytes(value, sort_keys=True)


def new_cell_id() -> str:
    return uuid.uuid4().hex[:8]


def strip_widgets(nb: dict[str, Any]) -> dict[str, Any]:
    """`nb` without saved widget state, widget views (a view keeps its text/plain) or nbtrack's
    own displays. Copies only what it changes: the notebook and cell dicts, and outputs that
    held a widget."""
    metadata = {k: v for k, v in (nb.get("metadata") or {}).items() if k != "widgets"}
    cells = []
    for cell in nb.get("cells", []):
        outputs = cell.get("outputs")
        if outputs:
            kept = []
            for output in outputs:
                if is_own(output):
                    continue
                output = without_widget_views(output)
                if output is not None:
                    kept.append(output)
            cell = {**cell, "outputs": kept}
        cells.append(cell)
    return {**nb, "metadata": metadata, "cells": cells}


def without_widget_views(output: dict[str, Any]) -> dict[str, Any] | None:
    """`output` without widget views and state (its other representations stay: the widget's
    text, a figure's fallback image); None when nothing else is left."""
    data = output.get("data")
    if isinstance(data, dict) and (WIDGET_VIEW in data or WIDGET_STATE in data):
        data = {k: v for k, v in data.items() if k not in (WIDGET_VIEW, WIDGET_STATE)}
        return {**output, "data": data} if data else None
    return output


def upgrade(nb: dict[str, Any]) -> dict[str, Any]:
    """A v4 notebook at minor >= 5 (every cell with an id, sources as strings), from any
    readable version; `nb` itself is not modified."""
    if nb.get("nbformat") != 4:
        import nbformat

        nb = dict(nbformat.convert(nbformat.from_dict(nb), 4))
    cells = []
    seen: set[str] = set()
    for cell in nb.get("cells", []):
        cell = dict(cell)
        for key in ("source", "text"):
            if isinstance(cell.get(key), list):
                cell[key] = multiline(cell[key])
        if cell.get("outputs"):
            cell["outputs"] = [_joined(o) for o in cell["outputs"]]
        cid = cell.get("id")
        if not isinstance(cid, str) or not cid or cid in seen:
            cell["id"] = cid = new_cell_id()
        seen.add(cid)
        cells.append(cell)
    return {**nb, "nbformat": 4, "nbformat_minor": max(int(nb.get("nbformat_minor") or 0), NBFORMAT_MINOR),
            "cells": cells}


def _joined(output: dict[str, Any]) -> dict[str, Any]:
    """An output with multi-line strings joined (nbformat allows lists of lines on disk)."""
    if isinstance(output.get("text"), list):
        output = {**output, "text": multiline(output["text"])}
    data = output.get("data")
    if isinstance(data, dict) and any(isinstance(v, list) and k.startswith(_JOINED) for k, v in data.items()):
        output = {**output, "data": {k: multiline(v) if isinstance(v, list) and k.startswith(_JOINED) else v
                                     for k, v in data.items()}}
    return output


def _fingerprint(value: Any) -> Any:
    """A hashable image of a JSON value (cheap: strings hash in C, no serialisation)."""
    if isinstance(value, dict):
        return tuple((k, _fingerprint(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_fingerprint(v) for v in value)
    return value


@dataclass
class SnapshotWriter:
    """Stores notebooks cell by cell; remembers which cells it already prepared (so a second
    snapshot of a mostly unchanged notebook costs only the changed cells)."""

    put_blob: PutBlob
    redactor: Redactor
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    _prepared: dict[Any, str] = field(default_factory=dict)  # fingerprint of a raw cell -> stored sha
    _blobs: dict[str, list[str]] = field(default_factory=dict)  # stored cell sha -> output blobs it references

    def store(self, nb: dict[str, Any]) -> tuple[str, list[str]]:
        """Store `nb` (left unmodified); returns (manifest sha, every blob the snapshot references:
        its cells, then their output blobs). Raises ValueError when the notebook cannot be made
        valid (nothing but output blobs is stored then)."""
        node = strip_widgets(upgrade(nb))
        digests = [(hash(_fingerprint(cell)), len(cell.get("source") or ""), cell.get("id")) for cell in node["cells"]]
        new = {d: cell for d, cell in zip(digests, node["cells"]) if d not in self._prepared}
        for cell in new.values():  # learn what every new source assigns to a secret name first
            self.redactor.text(multiline(cell.get("source") or ""), code=cell.get("cell_type") == "code")
        metadata = self.redactor.value(json.loads(json.dumps(node["metadata"])))
        fresh: dict[Any, bytes] = {}  # digest -> clean cell JSON, for cells not seen before
        fresh_blobs: dict[Any, list[str]] = {}
        fresh_cells: list[dict[str, Any]] = []
        for digest, cell in new.items():
            clean, fresh_blobs[digest] = self._clean_cell(cell)
            fresh[digest] = canonical(clean)
            fresh_cells.append(clean)
        probe = {"nbformat": 4, "nbformat_minor": node["nbformat_minor"], "metadata": metadata, "cells": fresh_cells}
        validate(probe)  # cells seen before were validated when first stored
        for digest, sha in zip(fresh, self._put_all(list(fresh.values()))):
            self._prepared[digest] = sha
            self._blobs[sha] = fresh_blobs[digest]
        cell_shas = [self._prepared[d] for d in digests]
        manifest = {"nbformat": 4, "nbformat_minor": node["nbformat_minor"], "metadata": metadata, "cells": cell_shas}
        blobs = [b for sha in dict.fromkeys(cell_shas) for b in self._blobs.get(sha, ())]
        return self.put_blob(canonical(manifest)), cell_shas + list(dict.fromkeys(blobs))

    def _put_all(self, blobs: list[bytes]) -> list[str]:
        """Write blobs, several at once when there are many (each write waits on an fsync)."""
        if len(blobs) <= PARALLEL_WRITES_FROM:
            return [self.put_blob(data) for data in blobs]
        from concurrent.futures import ThreadPoolExecutor

        try:
            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="nbtrack-snapshot") as pool:
                return list(pool.map(self.put_blob, blobs))
        except RuntimeError:  # no new threads while the interpreter shuts down (the exit snapshot)
            return [self.put_blob(data) for data in blobs]

    def _clean_cell(self, cell: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The cell as stored (redacted, outputs prepared) and the output blobs it references."""
        clean: dict[str, Any] = json.loads(json.dumps(cell))
        source = clean.pop("source", "")
        outputs = clean.pop("outputs", None)
        clean = self.redactor.value(clean)
        clean["source"] = self.redactor.text(source, code=clean.get("cell_type") == "code")
        blobs: list[str] = []
        if outputs is not None:
            clean["outputs"] = []
            for output in outputs:
                stored, referenced = prepare(output, self.put_blob, self.redactor.value, self.max_output_bytes)
                clean["outputs"].append(stored)
                blobs += referenced
        return clean, blobs


@lru_cache(maxsize=1)
def _schema_validator() -> Callable[[Any], Any]:
    """nbformat's own v4.5 JSON schema compiled by fastjsonschema: the check ``nbformat.validate``
    makes, without importing nbformat (whose jsonschema import costs seconds in a kernel)."""
    import importlib.util

    import fastjsonschema

    spec = importlib.util.find_spec("nbformat")
    folder = Path((spec.submodule_search_locations or [""])[0]) / "v4"  # type: ignore[union-attr]
    schema = json.loads((folder / f"nbformat.v4.{NBFORMAT_MINOR}.schema.json").read_text())
    return fastjsonschema.compile(schema)


def validate(nb: dict[str, Any]) -> None:
    """ValueError unless `nb` is a valid nbformat v4.5 notebook."""
    try:
        check = _schema_validator()
    except (ImportError, OSError):  # no fastjsonschema or no schema file: nbformat decides
        import nbformat

        try:
            nbformat.validate(nb, version=4, version_minor=NBFORMAT_MINOR)
        except nbformat.ValidationError as exc:
            raise ValueError(f"the notebook snapshot is not a valid nbformat v4 notebook: {exc.message}") from exc
        return
    import fastjsonschema

    try:
        check(nb)
    except fastjsonschema.JsonSchemaException as exc:
        raise ValueError(f"the notebook snapshot is not a valid nbformat v4 notebook: {exc}") from exc


def load_notebook(get_blob: GetBlob, manifest_sha: str) -> Any:  # -> nbformat.NotebookNode
    """The notebook a snapshot manifest describes, validated."""
    import nbformat

    manifest = json.loads(get_blob(manifest_sha))
    cells = [json.loads(get_blob(sha)) for sha in manifest.get("cells", [])]
    for cell in cells:
        if cell.get("outputs"):
            cell["outputs"] = [inline(o, get_blob) for o in cell["outputs"]]
    nb = nbformat.from_dict(
        {"nbformat": 4, "nbformat_minor": manifest.get("nbformat_minor", NBFORMAT_MINOR),
         "metadata": manifest.get("metadata") or {}, "cells": cells}
    )
    nbformat.validate(nb)
    return nb


def rebuild_notebook(cells: Iterable[dict[str, Any]], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """An nbformat v4.5 notebook (as a dict) from captured code cells (dicts with source,
    execution_count, outputs, and optionally cell_id and tags), in the order given."""
    built: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in cells:
        cid = item.get("cell_id")
        if not (isinstance(cid, str) and _valid_id(cid)) or cid in seen:
            cid = new_cell_id()
        seen.add(cid)
        built.append({
            "cell_type": "code", "id": cid, "execution_count": item.get("execution_count"),
            "metadata": {"tags": list(item["tags"])} if item.get("tags") else {},
            "outputs": list(item.get("outputs") or []), "source": item.get("source") or "",
        })
    return {"nbformat": 4, "nbformat_minor": NBFORMAT_MINOR, "metadata": metadata or {}, "cells": built}


def _valid_id(cid: str) -> bool:
    return 1 <= len(cid) <= 64 and all(c.isalnum() or c in "-_" for c in cid)
