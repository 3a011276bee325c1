"""The index is derived data and repairs itself: a damaged, non-SQLite or foreign-layout index file
is moved aside and rebuilt from the logs with one line saying so, wherever it is met (the Python
API, ``nbtrack runs``, ``nbtrack reindex``, the server); an index folder nbtrack cannot use is one
clear error, and a sound index is never moved aside for it."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import nbtrack
from nbtrack.cli import main
from nbtrack.store import index_file, index_schema
from nbtrack.store import store as store_module
from nbtrack.store.index import SCHEMA_VERSION, IndexUnavailable
from nbtrack.store.locate import index_path
from nbtrack.store.store import open_store

RUNS = 12
MOVED = "moved it aside"


def _write_runs(store: str, count: int = RUNS) -> None:
    for i in range(count):
        with nbtrack.start(f"run {i}", params={"i": i, "text": "x" * 200}, store=store):
            nbtrack.log(loss=1.0 / (i + 1))


def _close_stores() -> None:
    """Close every open store (the index's write-ahead log goes into its file), as a new process
    finds things."""
    for opened in list(store_module._OPEN.values()):
        opened.close()
    store_module._OPEN.clear()


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[str, Path]:
    """A store of RUNS finished runs and this machine's index of it, closed."""
    store = str(tmp_path / "store")
    _write_runs(store)
    assert len(nbtrack.runs(store=store)) == RUNS
    path = index_path(open_store(store).url)
    _close_stores()
    assert path.stat().st_size > 16384 and not Path(f"{path}-wal").exists()
    return store, path


def _truncated(path: Path) -> None:
    os.truncate(path, 8192)  # the header and schema survive, the pages of rows do not


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _foreign_tables(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE photos (id INTEGER, blob BLOB); INSERT INTO photos VALUES (1, x'00');"
                     f"PRAGMA user_version = {SCHEMA_VERSION};")
    db.close()


def _other_columns(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)  # our table names and version number, another shape
    db.executescript("CREATE TABLE runs (id TEXT PRIMARY KEY, data TEXT); CREATE TABLE meta (key, value);"
                     "INSERT INTO runs VALUES ('x', '{}'); "
                     f"PRAGMA user_version = {SCHEMA_VERSION};")
    db.close()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncated, "random bytes": _random_bytes,
    "foreign tables": _foreign_tables, "other columns": _other_columns,
}


def _moved_aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.damaged-*"))


def _names_after_repair(surface: str, store: str, capsys: pytest.CaptureFixture[str]) -> list[str] | None:
    """Meet the damaged index through `surface`: the run names it lists (None for reindex), after
    checking the one line that says it was repaired."""
    if surface == "python":
        with pytest.warns(RuntimeWarning, match=MOVED) as caught:
            names = list(nbtrack.runs(store=store)["name"])
        assert len([w for w in caught if MOVED in str(w.message)]) == 1
        return names
    verb = surface.split()[1]
    capsys.readouterr()
    assert main(["--store", store, verb]) == 0
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and MOVED in err and err.startswith("nbtrack: the index")  # one line
    if verb == "reindex":
        assert out == f"indexed {RUNS} runs from {open_store(store).url}\n"
        return None
    return [line.split("  ")[1].strip() for line in out.splitlines()[2:]]


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("surface", ["python", "cli runs", "cli reindex"])
def test_a_damaged_index_is_moved_aside_and_rebuilt(
    indexed: tuple[str, Path], damage: str, surface: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store, path = indexed
    DAMAGE[damage](path)
    damaged_bytes = path.read_bytes()
    names = _names_after_repair(surface, store, capsys)
    if names is not None:
        assert sorted(names) == sorted(f"run {i}" for i in range(RUNS))
    (aside,) = _moved_aside(path)
    assert aside.stat().st_size == len(damaged_bytes)  # kept for a look, out of the way
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired once: no second warning
        frame = nbtrack.runs(store=store)
    assert len(frame) == RUNS and set(frame["params.i"]) == set(range(RUNS))


def _damage_rows(path: Path) -> None:
    """Overwrite the pages that hold the rows of the runs table (not the schema, not meta): the
    file opens as usual and the damage shows only when a query reads those rows."""
    db = sqlite3.connect(path)
    kept = {1} | {page for (page,) in db.execute("SELECT rootpage FROM sqlite_master WHERE tbl_name = 'meta'")}
    size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    with open(path, "r+b") as fh:
        for page in range(1, pages + 1):
            if page not in kept:
                fh.seek((page - 1) * size)
                fh.write(os.urandom(size))


def test_an_index_of_an_older_layout_is_rebuilt_without_a_word(indexed: tuple[str, Path]) -> None:
    """An older nbtrack's index (another version number, a table this one no longer keeps) is
    derived data: dropped and rebuilt in place, not moved aside as foreign."""
    store, path = indexed
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE metric_packs (run TEXT PRIMARY KEY, sha TEXT NOT NULL) WITHOUT ROWID;"
                     f"PRAGMA user_version = {int(SCHEMA_VERSION) - 1};")
    db.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = nbtrack.runs(store=store)
    assert len(frame) == RUNS and _moved_aside(path) == []


def test_damage_found_by_a_query_after_opening_is_repaired_too(indexed: tuple[str, Path]) -> None:
    store, path = indexed
    _damage_rows(path)
    db = sqlite3.connect(path)  # what opening checks still holds
    assert index_schema.layout_problem(db) is None
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        db.execute("SELECT name FROM runs").fetchall()
    db.close()
    with pytest.warns(RuntimeWarning, match=MOVED) as caught:
        frame = nbtrack.runs(store=store)
    assert len([w for w in caught if MOVED in str(w.message)]) == 1
    assert len(frame) == RUNS and len(_moved_aside(path)) == 1


def test_the_server_repairs_its_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.servers import start_store_server

    work = tmp_path / "server"
    store = str(work / "served-store")
    monkeypatch.setenv("NBTRACK_INDEX_DIR", str(work / "server-index"))  # the server's index folder
    _write_runs(store, 3)
    assert len(nbtrack.runs(store=store)) == 3
    path = index_path(open_store(store).url)
    _close_stores()
    _random_bytes(path)
    server = start_store_server(work)
    try:
        request = urllib.request.Request(f"{server.base}nbtrack/api/runs",
                                         headers={"Authorization": f"token {server.token}"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert json.loads(answer.read())["total"] == 3
    finally:
        server.stop()
    assert len(_moved_aside(path)) == 1
    assert (work / "jupyter-server.log").read_text(errors="replace").count(MOVED) == 1


@contextlib.contextmanager
def _readonly(folder: Path) -> Iterator[None]:
    """`folder` read-only for everyone, root included (its mode, and the immutable flag as root);
    skips, saying why, where neither holds."""
    folder.chmod(0o555)
    immutable = False
    try:
        if os.access(folder, os.W_OK):  # root ignores modes
            immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        try:
            (folder / "probe").write_bytes(b"")
        except OSError:
            pass
        else:
            (folder / "probe").unlink()
            pytest.skip("cannot make a folder read-only here (root without chattr)")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o755)


def test_a_readonly_index_folder_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    _write_runs(store, 2)
    _close_stores()
    folder = tmp_path / "readonly-index"
    folder.mkdir()
    monkeypatch.setenv("NBTRACK_INDEX_DIR", str(folder))
    with _readonly(folder):
        with pytest.raises(IndexUnavailable, match="make that folder writable"):
            nbtrack.runs(store=store)
        _close_stores()
        capsys.readouterr()
        assert main(["--store", store, "runs"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and err.startswith("nbtrack: ") and "NBTRACK_INDEX_DIR" in err
    assert list(folder.iterdir()) == []


def test_a_sound_index_in_a_folder_turned_readonly_is_never_moved_aside(indexed: tuple[str, Path]) -> None:
    store, path = indexed
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    with _readonly(path.parent):
        try:
            frame = nbtrack.runs(store=store)
        except IndexUnavailable as exc:
            assert "make that folder writable" in str(exc)
        else:  # SQLite may manage to read it in place: then it must read it right
            assert len(frame) == RUNS
        _close_stores()
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before


def test_a_locked_index_is_one_clear_error_and_is_not_moved(
    indexed: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = indexed
    monkeypatch.setattr(index_file, "BUSY_SECONDS", 0.3)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a long write
    try:
        with pytest.raises(IndexUnavailable, match="another process holds it"):
            nbtrack.runs(store=store)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _close_stores()
    assert _moved_aside(path) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(nbtrack.runs(store=store)) == RUNS
