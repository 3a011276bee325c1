"""Vendor uPlot (MIT, https://github.com/leeoniya/uPlot) into nbtrack/widgets/vendor/.

The notebook widgets draw their charts with uPlot. Its npm package ships a prebuilt, minified
build (``dist/uPlot.iife.min.js``, ~50 KB, no dependencies), so nothing needs compiling: this
script copies that file, its stylesheet and its licence into the package, where the widgets'
ES modules inline them (``nbtrack.widgets._common.front_end``). The wheel then carries
everything the charts need: no CDN, no network when a notebook opens, and no node for
``pip install``. Only updating the vendored copy needs npm:

    python scripts/vendor_uplot.py            # the version pinned below
    python scripts/vendor_uplot.py 1.6.33     # another one (then update PINNED)

``npm pack`` checks the registry's integrity hash of the tarball; the version, that hash and
the sha256 of every vendored file go to ``vendor/uplot.json``, which
``tests/widgets/test_vendor.py`` checks against the files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PINNED = "1.6.32"  # the version the lab extension's package.json resolves too
VENDOR = Path(__file__).resolve().parents[1] / "nbtrack" / "widgets" / "vendor"
FILES = {  # in the tarball -> in vendor/
    "package/dist/uPlot.iife.min.js": "uPlot.iife.min.js",
    "package/dist/uPlot.min.css": "uPlot.min.css",
    "package/LICENSE": "uPlot.LICENSE",
}


def vendor(version: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["npm", "pack", f"uplot@{version}", "--json", "--pack-destination", tmp],
            capture_output=True, text=True, check=True,
        )
        (packed,) = json.loads(out.stdout)
        VENDOR.mkdir(parents=True, exist_ok=True)
        sha256 = {}
        with tarfile.open(Path(tmp) / packed["filename"]) as tar:
            for member, name in FILES.items():
                source = tar.extractfile(member)
                if source is None:
                    raise SystemExit(f"{member} is missing from uplot@{version}")
                with (VENDOR / name).open("wb") as target:
                    shutil.copyfileobj(source, target)
                sha256[name] = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
    record = {"package": "uplot", "version": packed["version"], "license": "MIT",
              "integrity": packed["integrity"], "sha256": sha256}
    (VENDOR / "uplot.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    print(json.dumps(vendor(sys.argv[1] if len(sys.argv) > 1 else PINNED), indent=2))
