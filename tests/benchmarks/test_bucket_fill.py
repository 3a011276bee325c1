"""The scale benchmark fills its S3 server from a local folder instead of over HTTP
(``benchmarks/_scale_bucket.py``): what it loads must be exactly what nbtrack PUTs on a bucket,
and its request counts must count what readers ask."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._scale_bucket import SlowS3, load_folder, write_runs  # noqa: E402
from nbtrack.store.fsspec_backend import FsspecBackend  # noqa: E402
from nbtrack.store.store import Store  # noqa: E402


def _objects(server: SlowS3, prefix: str) -> dict[str, bytes]:
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=server.endpoint, use_listings_cache=False)
    root = f"{server.bucket}/{prefix}/"
    return {path[len(root):]: fs.cat_file(path) for path in fs.find(root)}


def test_a_loaded_folder_holds_the_keys_and_bytes_nbtrack_puts_on_the_bucket(tmp_path: Path) -> None:
    server = SlowS3(tmp_path)
    try:
        write_runs(server.url("put"), 0, 5)  # over HTTP, one run after another
        write_runs(f"file://{tmp_path / 'folder'}?auto_mkdir=true", 0, 5)
        loaded = load_folder(server.endpoint, server.bucket, "loaded", tmp_path / "folder")
        put, found = _objects(server, "put"), _objects(server, "loaded")
        assert loaded["objects"] == len(found) == 6  # 5 logs and the store's marker
        assert found == put
        assert len(Store(FsspecBackend(server.url("loaded"))).run_ids()) == 5

        server.stats()
        FsspecBackend(server.url("loaded")).log_sizes("runs")
        assert server.stats()["requests"] == {"LIST": 1}
    finally:
        server.stop()
