"""A team store served by a real Jupyter server with the nbtrack extension, used over HTTP by
kernels in other processes. (The store suite also runs against it: see conftest.py.)"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import nbtrack
from nbtrack.store.http_backend import HttpBackend, StoreRequestError
from nbtrack.store.store import log_key, open_store
from tests.servers import StoreServer


def _status(url: str, headers: dict[str, str] | None = None, method: str = "GET", body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_authentication_is_required(store_server: StoreServer) -> None:
    store_server.wipe()
    api = f"{store_server.base}nbtrack/api/store"
    for route, method, body in (("log-sizes?prefix=runs", "GET", None), ("objects/nbtrack-store.json", "GET", None),
                                ("logs/runs/x/log?offset=0", "POST", b"data")):
        assert _status(f"{api}/{route}", method=method, body=body) == 403
        assert _status(f"{api}/{route}", {"Authorization": "token wrong"}, method, body) == 403
    assert _status(f"{api}/log-sizes", {"Authorization": f"token {store_server.token}"}) == 200
    assert not (store_server.store_dir / "runs" / "x").exists()

    with pytest.raises(PermissionError, match=r"refused the request.*token"):
        nbtrack.start(store=store_server.url.replace(store_server.token, "wrong"))
    with pytest.raises(PermissionError):
        nbtrack.start(store=store_server.url.split("?")[0])  # no token at all


def test_keys_outside_the_store_layout_and_forged_blobs_are_refused(store_server: StoreServer) -> None:
    store_server.wipe()
    backend = HttpBackend(store_server.url)
    with pytest.raises(ValueError, match="not a key of the store layout"):
        backend.write_once("elsewhere/file", b"x")
    with pytest.raises(ValueError, match="not a key of the store layout"):
        backend.read("runs/../../../etc/passwd")
    with pytest.raises(ValueError, match="do not hash"):
        backend.write_once("blobs/00/" + "0" * 64, b"x")


def test_appends_are_idempotent_and_a_second_writer_is_refused(store_server: StoreServer) -> None:
    store_server.wipe()
    key = log_key("01httpwriter0001")
    first, second = HttpBackend(store_server.url), HttpBackend(store_server.url)
    first.append(key, b"hello ")
    first._next[key] = 0  # as if the answer to the first append was lost: the retry re-sends it
    first.append(key, b"hello world")
    assert first.read_log(key) == b"hello world"
    first._next[key] = 6  # the same writer, other bytes where the log already holds some
    with pytest.raises(OSError, match="409"):
        first.append(key, b"WORLD")
    # another session of the same shared token is another writer: only the creator appends
    second._next[key] = 11
    with pytest.raises(PermissionError, match="only its creator appends"):
        second.append(key, b"!")
    assert (store_server.store_dir / key).read_bytes() == b"hello world"


def test_two_writers_at_the_end_of_one_log_one_is_refused_and_nothing_interleaves(
    store_server: StoreServer,
) -> None:
    """A writer's process forks (a worker process, a restored VM snapshot): two processes now
    append to one log at the end they both know. The server takes exactly one of them; every
    append of the other is refused (409), and the log holds no byte of it."""
    store_server.wipe()
    key = log_key("01twowriters0001")
    writer = HttpBackend(store_server.url)
    writer.append(key, b"header|")
    writer.close()  # each process opens its own connection after the fork
    go_read, go_write = os.pipe()
    told_read, told_write = os.pipe()
    pid = os.fork()
    side = "child" if pid == 0 else "parent"
    accepted = []
    try:
        if pid == 0:
            os.read(go_read, 1)
        else:
            os.write(go_write, b"!")  # both append now
        for i in range(3):
            try:
                writer.append(key, f"{side} {i}|".encode())
                accepted.append(i)
            except StoreRequestError as exc:
                assert "409" in str(exc)
    finally:
        if pid == 0:
            os.write(told_write, json.dumps(accepted).encode())
            os._exit(0)
    os.waitpid(pid, 0)
    child_accepted = json.loads(os.read(told_read, 1024))
    for fd in (go_read, go_write, told_read, told_write):
        os.close(fd)
    winner = "parent" if accepted else "child"
    assert sorted([accepted, child_accepted]) == [[], [0, 1, 2]]  # one writer, whole; the other, nothing
    expected = b"header|" + b"".join(f"{winner} {i}|".encode() for i in range(3))
    assert (store_server.store_dir / key).read_bytes() == expected
    assert HttpBackend(store_server.url).read_log(key) == expected


@pytest.mark.slow
def test_a_kernel_in_another_process_logs_to_the_server_store(
    store_server: StoreServer, tmp_path: Path, child_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store_server.wipe()
    monkeypatch.setenv("PYTHONPATH", child_env["PYTHONPATH"])
    url = store_server.url
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext nbtrack"),
            nbformat.v4.new_code_cell(f"%nbtrack start 'remote kernel' --tag team --store {url}"),
            nbformat.v4.new_code_cell(
                "import nbtrack\nfor step in range(30):\n    nbtrack.log(step=step, loss=1 / (step + 1))\n"
                "nbtrack.log_artifact(b'weights', name='model.bin')"
            ),
            nbformat.v4.new_code_cell("%nbtrack stop"),
        ]
    )
    NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    served = open_store(str(store_server.store_dir))  # the server's own folder, read directly
    runs = nbtrack.runs(store=served)
    assert list(runs["name"]) == ["remote kernel"] and list(runs["status"]) == ["finished"]
    run = nbtrack.get_run(runs["id"][0], store=served)
    assert run.metrics[run.metrics.key == "loss"].step.tolist() == [float(s) for s in range(30)]
    assert run.artifact("model.bin") == b"weights"
    assert list(nbtrack.runs(store=url)["id"]) == list(runs["id"])  # and through HTTP from here

    # the token is nowhere: not in the served store, not in this machine's index, not in URLs kept
    assert open_store(url).url == f"{store_server.base}nbtrack"
    token = store_server.token.encode()
    for folder in (store_server.store_dir, Path(os.environ["NBTRACK_INDEX_DIR"])):
        for path in folder.rglob("*"):
            if path.is_file():
                assert token not in path.read_bytes(), f"token written to {path}"
    assert token.decode() not in json.dumps(run.records, default=str)


def test_an_unreachable_server_is_a_clear_connection_error_without_the_token() -> None:
    from tests.servers import free_port

    backend = HttpBackend(f"http://127.0.0.1:{free_port()}/nbtrack?token=s3cr3t-t0ken")
    with pytest.raises(ConnectionError, match="cannot reach the nbtrack server") as caught:
        backend.exists("nbtrack-store.json")
    assert "s3cr3t" not in str(caught.value) and backend.url.endswith("/nbtrack")
