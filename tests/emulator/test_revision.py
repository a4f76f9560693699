"""The later revision's routes in the emulator: documented, gated like the rest, filters
refused rather than ignored, and the account lifecycle's edges the client tests do not walk."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import APIRoute

from orchestrator.emulator.app import API_PREFIX, create_app
from orchestrator.emulator.modules import MODULES
from tests.conftest import data, error

REVISION_ROUTES = {
    ("GET", "/dashboard"), ("GET", "/user"), ("PATCH", "/user"), ("GET", "/user/subscription"),
    ("GET", "/statistics"), ("GET", "/wallet"), ("GET", "/wallet/transactions"), ("GET", "/packages"),
    ("POST", "/accounts"), ("POST", "/accounts/login"), ("POST", "/accounts/challenge"),
    ("PATCH", "/accounts/{id}"), ("DELETE", "/accounts/{id}"), ("GET", "/proxies"),
    ("GET", "/keys"), ("POST", "/keys/generate"), ("POST", "/keys/revoke"),
    ("GET", "/statistics/accounts/{id}"), ("GET", "/reactions/stats"),
}
# Every GET route without a path parameter: the lists and the singletons.
PLAIN_GETS = sorted(
    route.path
    for module in MODULES
    for route in module.router.routes
    if isinstance(route, APIRoute) and "GET" in route.methods and "{" not in route.path
)


def test_openapi_lists_the_revisions_routes() -> None:
    doc = create_app().openapi()
    operations = {(m.upper(), p[len(API_PREFIX):]) for p, item in doc["paths"].items() for m in item}
    assert operations >= REVISION_ROUTES
    for path in ("/accounts/login", "/accounts/challenge"):
        assert "202" in doc["paths"][API_PREFIX + path]["post"]["responses"]
    assert "search" in {p["name"] for p in doc["paths"][API_PREFIX + "/accounts"]["get"]["parameters"]}


@pytest.mark.parametrize("path", PLAIN_GETS)
async def test_an_unknown_query_parameter_is_422_naming_it(alice: httpx.AsyncClient, path: str) -> None:
    params = {"no_such_filter": "1"}
    if path == "/reactions/stats":
        params["account_id"] = "1"
    body = error(await alice.get(path, params=params), 422)
    assert "no_such_filter" in body["message"] and set(body["errors"]) == {"no_such_filter"}


async def test_gates_come_before_the_query_check(emu) -> None:
    async with emu.http(None) as anonymous:
        error(await anonymous.get("/accounts", params={"bogus": "1"}), 401, "Unauthorized")


async def test_accounts_filters_apply(alice: httpx.AsyncClient) -> None:
    everyone = data(await alice.get("/accounts", params={"per_page": 100}))["items"]
    fitness = data(await alice.get("/accounts", params={"search": "fitness", "per_page": 100}))
    assert fitness["total"] == 7 < len(everyone)
    flagged = data(await alice.get("/accounts", params={"login_required": "true", "per_page": 100}))
    assert flagged["total"] == sum(a["login_required"] for a in everyone) > 0
    assert data(await alice.get("/accounts", params={"is_slave": "true"}))["total"] == 0
    error(await alice.get("/accounts", params={"login_required": "maybe"}), 422)


async def test_login_and_challenge_of_another_users_account_is_404(alice: httpx.AsyncClient) -> None:
    error(await alice.post("/accounts/login", json={"account_id": 26}), 404)
    error(await alice.post("/accounts/challenge", json={"account_id": 26, "code": "123456"}), 404)


async def test_too_many_wrong_codes_void_the_challenge(alice: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    added = data(await alice.post("/accounts", json={"username": "guesser", "password": "s3cret-pass"}), 201)
    assert "password" not in added and "challenge_code" not in str(added)
    for _ in range(4):
        error(await alice.post("/accounts/challenge", json={"account_id": added["id"], "code": "x"}), 422)
    last = error(await alice.post("/accounts/challenge", json={"account_id": added["id"], "code": "x"}), 422)
    assert "log in again" in last["errors"]["code"][0]
    assert (await control.get(f"/challenges/{added['id']}")).status_code == 404
    pending = await alice.post("/accounts/login", json={"account_id": added["id"]})  # a new challenge
    assert pending.status_code == 202 and data(pending, 202)["challenge"]["attempts_left"] == 5
    assert (await control.get(f"/challenges/{added['id']}")).status_code == 200


async def test_the_same_username_may_exist_for_another_user(bob: httpx.AsyncClient) -> None:
    data(await bob.post("/accounts", json={"username": "fashion_nova", "password": "s3cret-pass"}), 201)
    error(await bob.post("/accounts", json={"username": "fashion_nova", "password": "s3cret-pass"}), 409)


async def test_a_pending_challenge_is_not_bypassed(alice: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    added = data(await alice.post("/accounts", json={"username": "no_shortcut", "password": "s3cret-pass"}), 201)
    error(await alice.post(f"/accounts/{added['id']}/refresh-cookies"), 409)
    data(await alice.post(f"/accounts/{added['id']}/password", json={"password": "an0ther-pass"}))
    assert data(await alice.get(f"/accounts/{added['id']}"))["login_required"] is True
    code = (await control.get(f"/challenges/{added['id']}")).json()["code"]
    data(await alice.post("/accounts/challenge", json={"account_id": added["id"], "code": code}))
    data(await alice.post(f"/accounts/{added['id']}/refresh-cookies"))
    events = data(await alice.get(f"/accounts/{added['id']}/login-activity"))["items"]
    assert [e["event"] for e in events] == ["cookies_refreshed", "challenge_passed", "challenge_required"]


async def test_search_pages_and_scopes(alice: httpx.AsyncClient, admin: httpx.AsyncClient) -> None:
    page = data(await alice.get("/accounts", params={"search": "fitness", "per_page": 3, "page": 3}))
    assert (len(page["items"]), page["total"]) == (1, 7)
    past = data(await alice.get("/accounts", params={"search": "fitness", "page": 9}))
    assert (past["items"], past["total"]) == ([], 7)
    both = data(await admin.get("/accounts", params={"search": "_", "per_page": 100}))
    assert both["total"] == 30  # an admin searches every user's accounts
    assert data(await alice.get("/accounts", params={"search": "pets"}))["total"] == 0  # bob's
