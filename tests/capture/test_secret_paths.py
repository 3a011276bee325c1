"""Secrets planted through every path a notebook can take, in a real kernel, with values that have
no known token shape (only the name they were found under says they are secret): not one byte of
any of them is in the store, in this machine's index, or in an exported bundle (framed records
and zip members decompressed). The user is not forced: the run finds its user as it would."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
import zipfile
import zlib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import nbtrack
from nbtrack.core import framing
from nbtrack.store.bundle import export_runs
from nbtrack.store.store import open_store

pytestmark = pytest.mark.slow


def plain(word: str) -> str:
    """A value with no known token shape: two words and a number."""
    return f"{word}-harbor-{uuid.uuid4().int % 10**6}"


SECRETS = {path: plain(path.split()[0]) for path in (
    "api params", "nested params", "parameters cell", "source printed", "same cell printed", "dataframe password",
    "dataframe token", "env magic", "dict key", "json display", "cell magic", "shell line", "kernel env",
    "git diff", "url", "error message", "note magic",
)}


GOOGLE_SHAPE = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvWxyz12"  # a Google API key's shape (and 5 more)
PNG_CELL = (  # an image whose base64 (as the kernel sends it) holds that shape
    "import base64\nfrom IPython.display import Image, display\n"
    "head = b'\\x89PNG\\r\\n\\x1a\\n' + bytes(range(100))\n"
    f"display(Image(data=head + base64.b64decode('{GOOGLE_SHAPE}') + bytes(range(60)), format='png'))"
)


def notebook() -> nbformat.NotebookNode:
    s = SECRETS
    cells = [
        nbformat.v4.new_code_cell(f'db_password = "{s["parameters cell"]}"\nn_rows = 100'),
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell('%nbtrack start "secrets everywhere"'),
        nbformat.v4.new_code_cell(
            "import nbtrack\n"
            f'nbtrack.log_params(api_key="{s["api params"]}", config={{"db": {{"password": "{s["nested params"]}"}}}})'
        ),
        nbformat.v4.new_code_cell(f'openai_api_key = "{s["source printed"]}"'),
        nbformat.v4.new_code_cell("print('connecting with', openai_api_key)\nprint(db_password)"),
        nbformat.v4.new_code_cell(f'smtp_password = "{s["same cell printed"]}"\nprint(smtp_password)'),
        nbformat.v4.new_code_cell(
            "import pandas as pd\n"
            f'pd.DataFrame({{"user": ["ana"], "password": ["{s["dataframe password"]}"], '
            f'"api_token": ["{s["dataframe token"]}"]}})'
        ),
        nbformat.v4.new_code_cell(f"%env DB_PASS={s['env magic']}"),
        nbformat.v4.new_code_cell("import os\nprint(os.environ['DB_PASS'])"),
        nbformat.v4.new_code_cell(f'{{"client_secret": "{s["dict key"]}", "region": "eu"}}'),
        nbformat.v4.new_code_cell(
            "from IPython.display import JSON, display\n"
            f'display(JSON({{"db": {{"password": "{s["json display"]}"}}}}))'
        ),
        nbformat.v4.new_code_cell(f"%%bash\nexport DB_PASSWORD={s['cell magic']}\necho exported"),
        nbformat.v4.new_code_cell(f"!echo api_key={s['shell line']}"),
        nbformat.v4.new_code_cell("print(os.environ['MY_SERVICE_TOKEN'])"),
        nbformat.v4.new_code_cell(f"print('postgres://admin:{s['url']}@db.internal:5432/prod')"),
        nbformat.v4.new_code_cell(f"raise ValueError('login failed: password={s['error message']}')"),
        nbformat.v4.new_code_cell(f"%nbtrack note 'rotated the smtp_password={s['note magic']}'"),
        # and what is no secret stays exactly as it was: code, and a PNG whose base64 holds a key's shape
        nbformat.v4.new_code_cell(f"# Authors: The scikit-learn developers\n# License: BSD 3 clause\n{PNG_CELL}"),
        nbformat.v4.new_code_cell("%nbtrack stop"),
    ]
    cells[0].metadata["tags"] = ["parameters"]
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                          "display_name": "Python 3"}})


def git_repo_with_a_secret_in_its_diff(folder: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)

    git("init", "-q")
    (folder / "settings.py").write_text('db_password = "changeme"\n')
    git("add", "settings.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "settings")
    (folder / "settings.py").write_text(f'db_password = "{SECRETS["git diff"]}"\n')


def every_byte(folder: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every file under `folder`, plus the decoded records of framed files."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found.append((str(path), data))
            decoded = framing.decode(data)
            if decoded.records:
                found.append((f"{path} (records)", json.dumps(decoded.records, ensure_ascii=False).encode()))
    return found


def bundle_bytes(path: Path) -> list[tuple[str, bytes]]:
    found = [(str(path), path.read_bytes())]
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            found.append((f"{path}:{info.filename}", data))
            records = framing.decode(data).records
            if records:
                found.append((f"{path}:{info.filename} (records)", json.dumps(records, ensure_ascii=False).encode()))
    return found


def test_no_planted_secret_reaches_the_store_the_index_or_a_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git_repo_with_a_secret_in_its_diff(work)
    store_dir = tmp_path / "store"
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]) + os.pathsep +
                       os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("NBTRACK_STORE", str(store_dir))
    monkeypatch.setenv("MY_SERVICE_TOKEN", SECRETS["kernel env"])
    monkeypatch.delenv("NBTRACK_USER")  # the user as a run finds it (git, then the OS account)
    for name in ("JPY_SESSION_NAME", "NBTRACK_NOTEBOOK"):
        monkeypatch.delenv(name, raising=False)
    executed = notebook()
    NotebookClient(executed, kernel_name="python3", timeout=180, allow_errors=True,
                   resources={"metadata": {"path": str(work)}}).execute()
    shown = json.dumps([c.get("outputs") for c in executed.cells])
    assert SECRETS["dataframe password"] in shown and SECRETS["kernel env"] in shown  # the notebook saw them

    store = open_store(store_dir)
    (run_id,) = store.run_ids()
    run = nbtrack.get_run(run_id, store)
    assert run.status == "finished" and run.params["api_key"] == "[REDACTED]", run.params
    assert run.environment()["git"]["dirty"] and "[REDACTED]" in run.environment()["git"]["diff"]
    # and only the secrets went: the code that uses them and the rest of the outputs are intact
    sources = [c["source"] for c in run.cells]
    assert "print('connecting with', openai_api_key)\nprint(db_password)" in sources
    outputs = json.dumps([run.cell_outputs(c) for c in run.cells])
    assert "'region': 'eu'" in outputs and "exported" in outputs and "ana" in outputs
    authors = next(c for c in run.cells if c["source"].startswith("# Authors"))
    assert authors["source"] == executed.cells[-2].source  # stored (and replayed) exactly as written
    png = executed.cells[-2].outputs[0]["data"]["image/png"]
    assert GOOGLE_SHAPE in png and run.cell_outputs(authors)[0]["data"]["image/png"] == png
    nbtrack.runs(store=store)  # this machine's index, refreshed
    export_runs([run_id], tmp_path / "run.nbtrack.zip", store)
    places = every_byte(store_dir) + every_byte(Path(os.environ["NBTRACK_INDEX_DIR"]))
    places += bundle_bytes(tmp_path / "run.nbtrack.zip")
    assert len(places) > 20
    for path, value in SECRETS.items():
        leaked = [name for name, data in places if value.encode() in data or value.encode() in _inflated(data)]
        assert not leaked, f"the secret planted through {path!r} is in {leaked}"


def _inflated(data: bytes) -> bytes:
    """`data` decompressed when it is a zlib stream (as compressed frames are), else nothing."""
    try:
        return zlib.decompress(data)
    except zlib.error:
        return b""
