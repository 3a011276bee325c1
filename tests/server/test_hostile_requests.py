"""Requests built to break the server: deeply nested JSON bodies and numbers too large for any
offset are bad requests (400) with a message, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.server.conftest import json_body


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"note": ' + "[" * 5_000 + "]" * 5_000 + "}",
                                  '{"note": "x", "tags": ' + "[" * 80 + "]" * 80 + "}"])
async def test_deeply_nested_json_bodies_are_bad_requests(jp_fetch, make_run, body):
    run = make_run("r")
    answer = await jp_fetch("nbtrack", "api", "runs", run, method="PATCH", body=body, raise_error=False)
    assert answer.code == 400 and json_body(answer)["message"]


async def test_a_replay_with_parameters_nested_too_deep_is_a_bad_request(jp_fetch, make_run):
    value: list = []
    for _ in range(500):
        value = [value]
    answer = await jp_fetch("nbtrack", "api", "replay", method="POST", raise_error=False,
                            body=json.dumps({"run": make_run("r"), "parameters": {"x": value}}))
    assert answer.code == 400 and "nests deeper" in json_body(answer)["message"]


@pytest.mark.parametrize("offset", [str(10**30), "9" * 5000, str(2**63), "-1", "1e9"])
async def test_huge_or_odd_offsets_are_bad_requests(jp_fetch, make_run, offset):
    run = make_run("r")
    listed = await jp_fetch("nbtrack", "api", "runs", params={"offset": offset}, raise_error=False)
    assert listed.code == 400 and "offset" in json_body(listed)["message"]
    log = await jp_fetch("nbtrack", "api", "store", "logs", "runs", run, "log", params={"offset": offset},
                         raise_error=False)
    assert log.code == 400 and "offset" in json_body(log)["message"]


async def test_an_offset_past_the_end_is_just_empty(jp_fetch, make_run):
    run = make_run("r")
    listed = json_body(await jp_fetch("nbtrack", "api", "runs", params={"offset": str(2**50)}))
    assert listed["runs"] == [] and listed["total"] == 1
    log = await jp_fetch("nbtrack", "api", "store", "logs", "runs", run, "log", params={"offset": str(2**50)})
    assert log.code == 200 and log.body == b""
