"""``GET report``: the runs as one HTML file to save, for authorized users only, with ids that
cannot be paths (planted faults: the route without @authorized; the id check removed)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import DenyNBTrack


async def get_report(jp_fetch: Any, **params: str) -> Any:
    return await jp_fetch("nbtrack", "api", "report", params=params, raise_error=False)


async def test_report_of_two_runs_is_an_html_attachment(jp_fetch, make_run):
    a, b = make_run("first <b>", params={"lr": 0.1}), make_run("second", params={"lr": 0.2})
    response = await get_report(jp_fetch, runs=f"{a},{b[:12]}")
    assert response.code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="nbtrack-report-')
    assert response.headers["Content-Security-Policy"] == "sandbox"
    page = response.body.decode()
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert a in page and b in page and "first <b>" not in page  # the name is in escaped JSON only


@pytest.mark.parametrize("authorizer", [DenyNBTrack])
async def test_report_needs_authorization(jp_fetch, make_run):
    response = await get_report(jp_fetch, runs=make_run("r"))
    assert response.code == 403


async def test_report_needs_authentication(http_server_client, jp_base_url, make_run):
    run = make_run("r")
    response = await http_server_client.fetch(f"{jp_base_url}nbtrack/api/report?runs={run}", raise_error=False)
    assert response.code == 403


@pytest.mark.parametrize("runs", ["../../etc/passwd", "..%2f..%2fetc", "a/b", "a\\\\b", "x" * 65, ",".join(["a"] * 51)])
async def test_report_refuses_ids_that_are_not_ids(jp_fetch, make_run, runs):
    make_run("r")
    response = await get_report(jp_fetch, runs=runs)
    assert response.code == 400, response.body


async def test_report_of_unknown_or_no_runs(jp_fetch, make_run):
    make_run("r")
    assert (await get_report(jp_fetch, runs="zzzzzzzz")).code == 404
    assert (await get_report(jp_fetch)).code == 400
    assert (await get_report(jp_fetch, filter="name=nothing-matches")).code == 400
