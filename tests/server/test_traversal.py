"""Paths and names from requests cannot leave where they belong: artifacts are looked up by exact
name in the run's list (never as files), notebook paths must stay inside the server root, and
the same holds for encoded forms and symlinks. Requests are sent raw (no client-side URL
normalisation) so the server sees exactly what an attacker would send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import nbtrack
from tests.server.conftest import json_body, write_notebook

SECRET = "TOP-SECRET-CONTENT-4242"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the server root holding a secret notebook."""
    folder = tmp_path / "outside"
    write_notebook(folder / "secret.ipynb", [SECRET])
    (folder / "passwd").write_text(SECRET)
    return folder


@pytest.fixture
def run_with_artifacts(store: Any) -> str:
    run = nbtrack.start("artifacts", store=store)
    nbtrack.log_artifact(b"weights", name="model.bin")
    nbtrack.log_artifact(b"changes", name="v1..v2.txt")
    nbtrack.finish()
    return run.id


async def raw_get(http_server_client: Any, jp_base_url: str, jp_auth_header: dict[str, str], path: str) -> Any:
    """GET `path` (under the base URL) exactly as written."""
    return await http_server_client.fetch(
        jp_base_url + path, headers=jp_auth_header, raise_error=False, follow_redirects=False
    )


@pytest.mark.parametrize(
    "name",
    [
        "../../../../../../etc/passwd",
        "..%2f..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "%25252e%25252e%25252fetc",
        "%2fetc%2fpasswd",
        "%2F%2Fetc%2Fpasswd",
        "..%5c..%5cwindows%5cwin.ini",
        "C:%5cwindows%5cwin.ini",
        "model.bin%00.txt",
        "~%2f.ssh%2fid_rsa",
        "models/../model.bin",
        "..",
    ],
)
async def test_artifact_traversal_is_rejected(
    http_server_client, jp_base_url, jp_auth_header, run_with_artifacts, name
):
    answer = await raw_get(
        http_server_client, jp_base_url, jp_auth_header, f"nbtrack/api/runs/{run_with_artifacts}/artifacts/{name}"
    )
    assert answer.code == 400, (name, answer.code, answer.body)
    assert b"weights" not in answer.body and SECRET.encode() not in answer.body


async def test_artifacts_are_names_not_paths(
    http_server_client, jp_base_url, jp_auth_header, run_with_artifacts, store
):
    base = f"nbtrack/api/runs/{run_with_artifacts}/artifacts/"
    sha = store.put_blob(b"weights")
    for name in (f"blobs/{sha[:2]}/{sha}", "nbtrack-store.json", f"runs/{run_with_artifacts}/log", "MODEL.BIN"):
        answer = await raw_get(http_server_client, jp_base_url, jp_auth_header, base + name)
        assert answer.code == 404, name  # store keys are not artifact names
    assert (await raw_get(http_server_client, jp_base_url, jp_auth_header, base + "v1..v2.txt")).body == b"changes"
    assert (await raw_get(http_server_client, jp_base_url, jp_auth_header, base + "model.bin")).body == b"weights"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../outside/secret.ipynb", 400),
        ("%2e%2e/outside/secret.ipynb", 400),
        ("%252e%252e%252foutside%252fsecret.ipynb", 400),
        ("sub/../../outside/secret.ipynb", 400),
        ("%2Fetc%2Fpasswd", 400),
        ("C:%5Cwindows%5Cwin.ini", 400),
        ("..%5Coutside%5Csecret.ipynb", 400),
        ("nb.ipynb%00.txt", 404),  # tornado turns control characters in query values into spaces
        ("", 400),
        ("link/secret.ipynb", 404),  # a symlink out of the root
        ("missing.ipynb", 404),
    ],
)
async def test_diff_path_traversal_is_rejected(
    http_server_client, jp_base_url, jp_auth_header, jp_root_dir, outside, run_with_artifacts, path, status
):
    (jp_root_dir / "link").symlink_to(outside, target_is_directory=True)
    write_notebook(jp_root_dir / "nb.ipynb", ["1"])
    answer = await raw_get(
        http_server_client, jp_base_url, jp_auth_header, f"nbtrack/api/runs/{run_with_artifacts}/diff?path={path}"
    )
    assert answer.code == status, (path, answer.code, answer.body)
    assert SECRET.encode() not in answer.body
    assert json_body(answer)["message"]


@pytest.mark.parametrize("path", ["../x.ipynb", "%2Fabs.ipynb", "a%5C..%5Cb"])
async def test_notebook_filter_rejects_traversal(http_server_client, jp_base_url, jp_auth_header, path):
    answer = await raw_get(http_server_client, jp_base_url, jp_auth_header, f"nbtrack/api/runs?notebook={path}")
    assert answer.code == 400


async def test_run_ids_cannot_reach_outside_the_store(
    http_server_client, jp_base_url, jp_auth_header, run_with_artifacts
):
    for run_id in ("..%2f..%2foutside", "%2e%2e", "..", "*"):
        answer = await raw_get(http_server_client, jp_base_url, jp_auth_header, f"nbtrack/api/runs/{run_id}")
        assert answer.code in (400, 404), run_id
