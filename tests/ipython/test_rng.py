"""The random state recorded before each cell (``capture.rng``): only when it changed, only for
libraries the kernel imported, and restorable to the same draws."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from nbtrack.api import get_run
from nbtrack.capture.rng import RngWatch, restore
from nbtrack.store.store import open_store


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("NBTRACK_NOTEBOOK", raising=False)
    ip = InteractiveShell.instance()
    ip.run_cell("%load_ext nbtrack", store_history=True)
    yield ip
    ip.run_cell("%unload_ext nbtrack")
    InteractiveShell.clear_instance()


def test_state_is_stored_when_it_changed_and_restores_the_same_draws(shell: InteractiveShell,
                                                                     tmp_path: Path) -> None:
    shell.run_cell('%nbtrack start "rng"', store_history=True)
    cells = ["import random\nfirst = random.random()", "x = 1", "y = 2", "second = random.random()", "z = 3"]
    for source in cells:
        shell.run_cell(source, store_history=True)
    shell.run_cell("%nbtrack stop", store_history=True)
    store = open_store(str(tmp_path / "store"))
    run = get_run(store.run_ids()[-1], store)
    rng = {c["source"]: c.get("rng") for c in run.cells}
    assert all(rng[s] for s in cells)
    assert rng["x = 1"] == rng["y = 2"] == rng["second = random.random()"]  # nothing drawn between: one blob
    assert rng["z = 3"] != rng["second = random.random()"]
    state = json.loads(store.get_blob(rng["second = random.random()"]))
    assert set(state) == {"before", "imported"} and "random" in state["before"]
    # every generator captured is restored (numpy and torch too when earlier tests imported them)
    assert set(restore(state["before"])) == set(state["before"]) >= {"random"}
    import random

    assert random.random() == shell.user_ns["second"]
    watch = RngWatch()
    reading = watch.read()
    assert watch.read() is reading  # unchanged: the same reading, stored once
    random.random()
    assert watch.read() is not reading


def test_tracking_never_imports_numpy_or_torch(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "for cell in ('%load_ext nbtrack', '%nbtrack start plain', 'import random; random.random()', 'x = 1',"
        " '%nbtrack stop'):\n"
        "    ip.run_cell(cell, store_history=True)\n"
        "print(sorted(m for m in ('numpy', 'numpy.random', 'torch') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True,
                          env={"NBTRACK_STORE": str(tmp_path / "store"), "PATH": "/usr/bin:/bin",
                               "HOME": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_unseeded_numpy_entropy_comes_from_a_restorable_source_reseeded_in_forked_children() -> None:
    import os

    import numpy.random

    from nbtrack.capture.rng import ENTROPY

    assert ENTROPY.install()
    try:
        state = ENTROPY.source.getstate()
        first = numpy.random.default_rng().integers(1 << 62)
        ENTROPY.source.setstate(state)
        assert numpy.random.default_rng().integers(1 << 62) == first  # restorable: the same seed again
        ENTROPY.source.setstate(state)
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # a forked worker (multiprocessing, joblib) must not repeat its parent's seeds
            os.write(write, str(numpy.random.default_rng().integers(1 << 62)).encode())
            os._exit(0)
        os.close(write)
        os.waitpid(child, 0)
        in_child = int(os.read(read, 100))
        assert numpy.random.default_rng().integers(1 << 62) == first != in_child
    finally:
        ENTROPY.remove()
    assert numpy.random.bit_generator.randbits != ENTROPY._draw  # numpy's own source is back
