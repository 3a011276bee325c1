"""What is particular to buckets: logs as immutable segments, exclusive creation, and URLs that
carry options (and sometimes credentials) which must never be kept."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from nbtrack.core.redact import redact_url
from nbtrack.store.fsspec_backend import FsspecBackend, segment_name
from nbtrack.store.locate import index_path
from nbtrack.store.store import log_key, open_store


@pytest.fixture(params=["memory", "s3"])
def bucket_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return f"memory://bucket-{uuid.uuid4().hex}"
    return str(request.getfixturevalue("s3_server").url())


def test_each_append_is_one_immutable_segment_named_by_its_offset(bucket_url: str) -> None:
    backend = FsspecBackend(bucket_url)
    key = log_key("01segments000001")
    for chunk in (b"abc", b"defg", b"h"):
        backend.append(key, chunk)
    names = sorted(backend.fs.find(f"{backend.root}/{key}"))
    assert [n.rsplit("/", 1)[1] for n in names] == [segment_name(0), segment_name(3), segment_name(7)]
    assert backend.read_log(key) == b"abcdefgh" and backend.read_log(key, 5) == b"fgh"
    assert backend.log_sizes("runs") == {key: 8}
    assert [i.key for i in backend.list("")] == []  # segments are not objects
    assert backend.temp_leftovers(float("inf")) == []

    resumed = FsspecBackend(bucket_url)  # a writer that starts again finds the end itself
    resumed.append(key, b"ij")
    assert backend.read_log(key) == b"abcdefghij"


def test_a_retried_append_replaces_its_segment_and_a_gap_ends_the_log(bucket_url: str) -> None:
    backend = FsspecBackend(bucket_url)
    key = log_key("01segments000002")
    backend.append(key, b"first ")
    backend._next[key] = 0  # the answer to the PUT was lost: the writer re-sends from offset 0
    backend.append(key, b"first second ")
    backend.append(key, b"third")
    assert backend.read_log(key) == b"first second third"

    backend.fs.rm_file(f"{backend.root}/{key}/{segment_name(13)}")  # a segment goes missing
    backend.append(key, b" fourth")
    assert backend.read_log(key) == b"first second "  # nothing after a gap is trusted
    assert backend.log_sizes("runs")[key] == 13


def test_write_once_from_many_writers_at_once(bucket_url: str) -> None:
    """Six writers race to create one key, each with its own bytes: exactly one wins, and the
    object holds the winner's bytes (an annotation key is unique, but a lost race must never
    silently replace what another writer published)."""
    backends = [FsspecBackend(bucket_url) for _ in range(6)]
    results: dict[int, bool] = {}
    barrier = threading.Barrier(len(backends))

    def write(i: int) -> None:
        barrier.wait()
        results[i] = backends[i].write_once("notes/race/same-key", f"writer {i}".encode())

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(backends))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, won in results.items() if won]
    assert len(results) == 6 and len(winners) == 1, results
    assert backends[0].read("notes/race/same-key") == f"writer {winners[0]}".encode()
    assert backends[0].write_once("notes/race/same-key", b"other") is False
    assert backends[0].read("notes/race/same-key") == f"writer {winners[0]}".encode()


def test_credentials_in_a_store_url_are_used_but_never_kept(s3_server) -> None:  # type: ignore[no-untyped-def]
    plain = s3_server.url("creds")
    with_secrets = plain + "&key=testing&secret=testing"  # s3fs storage options from the URL
    store = open_store(with_secrets)
    store.put_blob(b"reachable with the credentials")
    assert "secret" not in store.url and "key=" not in store.url
    assert store.url == redact_url(plain)
    assert index_path(with_secrets) == index_path(plain)
    assert redact_url("https://user:pw@host/nbtrack?token=abc&x=1") == "https://host/nbtrack?x=1"


def test_prefetched_logs_serve_one_read_each(bucket_url: str) -> None:
    writer = FsspecBackend(bucket_url)
    keys = [log_key(f"01prefetch{i:06d}") for i in range(12)]
    for i, key in enumerate(keys):
        writer.append(key, b"x" * i)
        writer.append(key, b"y")
    reader = FsspecBackend(bucket_url)
    assert reader.log_sizes("runs") == {key: i + 1 for i, key in enumerate(keys)}
    reader.prefetch_logs({key: (1 if i == 5 else 0) for i, key in enumerate(keys)})
    writer.append(keys[0], b"z")  # after the prefetch: the prefetched bytes are what was listed
    assert [reader.read_log(key, 1 if i == 5 else 0) for i, key in enumerate(keys)] == [
        (b"x" * i + b"y")[1 if i == 5 else 0:] for i in range(12)]
    assert reader.read_log(keys[0]) == b"yz"  # each prefetch serves one read: then a new look


def test_fetching_logs_from_s3_is_one_get_per_segment(s3_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A prefetch, then the reads it serves, ask S3 for each segment once and nothing else (s3fs
    used to ask each object's size first: a HEAD per segment doubled what a machine syncing a
    bucket waits for)."""
    url = s3_server.url()
    writer = FsspecBackend(url)
    keys = [log_key(f"01requests{i:06d}") for i in range(10)]
    for key in keys:
        writer.append(key, b"abc")
        writer.append(key, b"de")
    reader = FsspecBackend(url)
    reader.log_sizes("runs")
    calls: list[str] = []
    call_s3 = reader.fs._call_s3

    async def counted(method: str, *args: object, **kwargs: object) -> object:
        calls.append(method)
        return await call_s3(method, *args, **kwargs)

    monkeypatch.setattr(reader.fs, "_call_s3", counted)
    reader.prefetch_logs(dict.fromkeys(keys, 0))
    assert [reader.read_log(key) for key in keys] == [b"abcde"] * len(keys)
    assert calls == ["get_object"] * 2 * len(keys)


def test_fetching_many_logs_keeps_many_requests_to_s3_in_flight(tmp_path: Path) -> None:
    """100 log segments fetched from a bucket whose every request takes 20 ms: more than 10 of
    them are asked at once (botocore's default pool of 10 connections made a fresh machine wait
    for the runs it reads from their logs 10 at a time). The server is the benchmarks' S3 server,
    which counts the requests it holds at once."""
    from benchmarks._scale_bucket import SlowS3

    server = SlowS3(tmp_path)
    try:
        url = server.url("in-flight")
        writer = FsspecBackend(url)
        keys = [log_key(f"01inflight{i:06d}") for i in range(100)]
        for key in keys:
            writer.append(key, b"x")
        server.slow(True)
        reader = FsspecBackend(url)
        reader.log_sizes("runs")
        server.stats()
        reader.prefetch_logs(dict.fromkeys(keys, 0))
        found = server.stats()
        assert found["requests"] == {"GET": len(keys)}
        assert found["most_in_flight"] > 10
    finally:
        server.stop()


def test_a_gcs_request_the_server_never_answers_times_out_and_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bucket that accepts a request and then says nothing (a stalled connection) must not hang
    the reader: the read times out and gcsfs sends it again (here to a server that answers the
    second time). Without a read timeout gcsfs waits for ever."""
    import json
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from nbtrack.store import fsspec_backend
    from tests.servers import use_plain_gcsfs

    use_plain_gcsfs()
    seen: list[str] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if len(seen) == 1:
                release.wait(30)  # the first request: accepted, never answered
                return
            body = json.dumps({"kind": "storage#objects", "items": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(fsspec_backend, "READ_SECONDS", 1.0)
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        backend = FsspecBackend(f"gs://bucket/{uuid.uuid4().hex}?endpoint_url={endpoint}&token=anon&project=p")
        started = time.monotonic()
        assert list(backend.list("runs")) == []
        assert time.monotonic() - started < 20
        assert len(seen) >= 2 and seen[0] == seen[1]  # the same request, sent again
    finally:
        release.set()
        server.shutdown()
