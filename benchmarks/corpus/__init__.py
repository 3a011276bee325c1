"""The replay-fidelity corpus: third-party notebooks and what two plain executions of each
give (see README.md). ``entries()`` is what a benchmark or a test iterates over."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"


def entries(subset: str | None = None) -> list[dict]:
    """Manifest records (``file`` made absolute), all of them or those of one subset."""
    records = json.loads(MANIFEST.read_text())["notebooks"]
    chosen = [r for r in records if subset is None or r.get("subset") == subset]
    return [{**r, "file": str(HERE / r["file"])} for r in chosen]
