"""Every route needs an authenticated user authorized for the `nbtrack` resource (403
otherwise), and mutating routes need the XSRF token when the request is not token-authenticated
(the browser case: a login cookie)."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import pytest

from tests.server.conftest import (
    DenyNBTrack,
    NoExecuteNBTrack,
    ReadOnlyNBTrack,
    json_body,
    write_notebook,
)

# (method, route, query, body, status for an authorized user). Unknown ids on replay reach the
# handler (404), which proves the request got past authentication and authorization.
ROUTES: list[tuple[str, str, dict[str, str], dict[str, Any] | None, int]] = [
    ("GET", "runs", {}, None, 200),
    ("GET", "runs/{run}", {}, None, 200),
    ("PATCH", "runs/{run}", {}, {"note": "checked"}, 200),
    ("GET", "runs/{run}/metrics", {}, None, 200),
    ("GET", "runs/{run}/cells", {}, None, 200),
    ("GET", "runs/{run}/notebook", {}, None, 404),  # this run has no snapshot
    ("GET", "runs/{run}/artifacts/model.bin", {}, None, 404),  # nor artifacts
    ("GET", "runs/{run}/diff", {"path": "nb.ipynb"}, None, 404),
    ("GET", "runs/{run}/diff", {"against": "{run}"}, None, 404),  # no snapshot to compare
    ("GET", "runs/{run}/replay", {}, None, 200),
    ("GET", "active", {"kernel": "k-1"}, None, 200),
    ("POST", "replay", {}, {"run": "zzzzzzzz"}, 404),
    ("GET", "replay/no-such-job", {}, None, 404),
    ("GET", "sweeps", {}, None, 200),
    ("GET", "sweeps/zzzzzzzz", {}, None, 404),  # no such sweep: the handler answered
]
IDS = [f"{m} {r}" + (f"?{'&'.join(q)}" if q else "") for m, r, q, *_ in ROUTES]


async def call(
    jp_fetch: Any, method: str, route: str, query: dict[str, str], body: Any, run: str, **kwargs: Any
) -> Any:
    parts = route.format(run=run).split("/")
    return await jp_fetch(
        "nbtrack", "api", *parts, method=method, params={k: v.format(run=run) for k, v in query.items()},
        body=None if body is None else json.dumps(body), raise_error=False, **kwargs,
    )


@pytest.mark.parametrize(("method", "route", "query", "body", "status"), ROUTES, ids=IDS)
async def test_authorized_user_reaches_every_route(jp_fetch, make_run, method, route, query, body, status):
    run = make_run("r")
    response = await call(jp_fetch, method, route, query, body, run)
    assert response.code == status, response.body
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("method", "route", "query", "body", "status"), ROUTES, ids=IDS)
async def test_unauthenticated_request_is_forbidden(jp_fetch, make_run, method, route, query, body, status):
    run = make_run("r")
    response = await call(jp_fetch, method, route, query, body, run, headers={"Authorization": ""})
    assert response.code == 403


@pytest.mark.parametrize("authorizer", [DenyNBTrack])
@pytest.mark.parametrize(("method", "route", "query", "body", "status"), ROUTES, ids=IDS)
async def test_user_denied_the_nbtrack_resource_is_forbidden(
    jp_fetch, make_run, store, method, route, query, body, status
):
    run = make_run("r")
    response = await call(jp_fetch, method, route, query, body, run)
    assert response.code == 403
    if method == "PATCH":
        assert store.read_run(run).state().notes == []  # nothing was written
    other = await jp_fetch("api", "contents", raise_error=False)  # the rest of the server still works
    assert other.code == 200


@pytest.mark.parametrize("authorizer", [ReadOnlyNBTrack])
@pytest.mark.parametrize(("method", "route", "query", "body", "status"), ROUTES, ids=IDS)
async def test_read_only_user_reads_but_cannot_change_or_replay(jp_fetch, make_run, method, route, query, body, status):
    run = make_run("r")
    response = await call(jp_fetch, method, route, query, body, run)
    assert response.code == (status if method == "GET" else 403)


@pytest.mark.parametrize("authorizer", [NoExecuteNBTrack])
async def test_replays_need_the_execute_permission(jp_fetch, make_run):
    run = make_run("r")
    assert (await call(jp_fetch, "PATCH", "runs/{run}", {}, {"tags": ["t"]}, run)).code == 200
    assert (await call(jp_fetch, "POST", "replay", {}, {"run": run}, run)).code == 403


# ---- XSRF: the browser's way in is a login cookie, and then mutating requests need _xsrf


async def login_cookies(jp_fetch: Any, jp_serverapp: Any) -> dict[str, str]:
    """Log in through the login form with the server's token, as a browser does."""
    page = await jp_fetch("login", headers={"Authorization": ""}, raise_error=False)
    cookies = _cookies(page)
    token = jp_serverapp.identity_provider.token
    form = urllib.parse.urlencode({"_xsrf": cookies["_xsrf"], "password": token})
    answer = await jp_fetch(
        "login", method="POST", body=form, follow_redirects=False, raise_error=False,
        headers={"Authorization": "", "Cookie": _cookie_header(cookies),
                 "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.code == 302, answer.body
    cookies.update(_cookies(answer))
    assert any(name.startswith("username-") for name in cookies), cookies
    return cookies


def _cookies(response: Any) -> dict[str, str]:
    found = {}
    for header in response.headers.get_list("Set-Cookie"):
        name, value = re.match(r"([^=]+)=([^;]*)", header).groups()  # type: ignore[union-attr]
        found[name] = value.strip('"')
    return found


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def test_patch_and_post_with_a_login_cookie_need_the_xsrf_token(jp_fetch, jp_serverapp, make_run, store):
    run = make_run("r")
    cookies = await login_cookies(jp_fetch, jp_serverapp)
    browser = {"Authorization": "", "Cookie": _cookie_header(cookies)}

    listed = await jp_fetch("nbtrack", "api", "runs", headers=dict(browser), raise_error=False)
    assert listed.code == 200  # reading with the cookie alone is fine

    note = json.dumps({"note": "from the browser"})
    refused = await jp_fetch(
        "nbtrack", "api", "runs", run, method="PATCH", body=note, headers=dict(browser), raise_error=False
    )
    assert refused.code == 403
    assert store.read_run(run).state().notes == []
    replay = json.dumps({"run": run})
    refused_post = await jp_fetch(
        "nbtrack", "api", "replay", method="POST", body=replay, headers=dict(browser), raise_error=False
    )
    assert refused_post.code == 403

    forged = dict(browser, **{"X-XSRFToken": "not-the-token"})
    assert (
        await jp_fetch("nbtrack", "api", "runs", run, method="PATCH", body=note, headers=forged, raise_error=False)
    ).code == 403

    with_token = dict(browser, **{"X-XSRFToken": cookies["_xsrf"]})
    accepted = await jp_fetch(
        "nbtrack", "api", "runs", run, method="PATCH", body=note, headers=with_token, raise_error=False
    )
    assert accepted.code == 200, accepted.body
    assert [n["text"] for n in json_body(accepted)["notes"]] == ["from the browser"]


async def test_token_authenticated_requests_need_no_xsrf(jp_fetch, make_run):
    run = make_run("r")
    answer = await jp_fetch("nbtrack", "api", "runs", run, method="PATCH", body=json.dumps({"tags": ["ok"]}))
    assert json_body(answer)["tags"] == ["ok"]


async def test_routes_live_under_the_base_url(jp_fetch, jp_base_url, jp_root_dir, make_run):
    write_notebook(jp_root_dir / "nb.ipynb", ["1"])
    make_run("r")
    assert jp_base_url != "/"  # pytest-jupyter serves under /a%40b/: routes must honour it
    assert json_body(await jp_fetch("nbtrack", "api", "runs"))["total"] == 1


async def test_raw_store_routes_are_mounted_behind_the_same_auth(jp_fetch, make_run):
    run = make_run("r")
    sizes = json_body(await jp_fetch("nbtrack", "api", "store", "log-sizes", params={"prefix": "runs"}))
    assert list(sizes["sizes"]) == [f"runs/{run}/log"]
    anonymous = await jp_fetch("nbtrack", "api", "store", "log-sizes", headers={"Authorization": ""}, raise_error=False)
    assert anonymous.code == 403
