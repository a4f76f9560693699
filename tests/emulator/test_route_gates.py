"""The gates every API route keeps, generated from the app's route table.

The routes come from the module routers in ``orchestrator.emulator.modules.MODULES`` (each
route carries ``x-module``, the module that gates it, set by its ``ModuleRouter``), checked
against ``/openapi.json``, so a new route is checked without anyone listing it:

- no key: 401 ``Unauthorized``; an unknown well-formed key: 401 ``Invalid API key``;
- a plan without the route's module: 403 ``Module not enabled``; the module's plugin not
  installed: 503 (core routes, ``x-module`` null, pass both gates);
- a route with a path parameter: 404 when alice asks for bob's resource. ``ID_FOR_BOB``
  says how to find bob's resource for each templated route, and a test fails when a
  templated route has no entry there, so a new route cannot skip the check either. Each
  case also asks as the admin (who sees across users) to prove the id is real: a 404
  for an id that does not exist would prove nothing.

Order (see ``orchestrator/emulator/context.py``): authentication (401), then the module
installed (503), then the module in the plan (403), then FastAPI validates the body
(400/422; a malformed JSON body, which FastAPI parses before any dependency, still meets
the gates first), then the handler looks the resource up (404). So the 404 cases send a
valid body where the route takes one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest

from fastapi.routing import APIRoute

from orchestrator.emulator.app import API_PREFIX, create_app
from orchestrator.emulator.modules import MODULES as MODULE_PACKAGES
from orchestrator.emulator.state import MODULES
from orchestrator.emulator.testing import LocalEmulator

METHODS = ("get", "post", "put", "patch", "delete")
UNKNOWN_KEY = "sht_" + "0123456789abcdef" * 4


@dataclass(frozen=True)
class Route:
    method: str  # upper case
    template: str  # the router's path, as in /openapi.json without the /api/v1 prefix
    module: str | None
    params: dict[str, str] = field(default_factory=dict, hash=False)  # path param -> JSON type

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.template

    def url(self, values: dict[str, Any] | None = None) -> str:
        """The path with ``values`` filled in (placeholders of the right type otherwise)."""
        values = values or {}

        def fill(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in values:
                return str(values[name])
            return "1" if self.params.get(name) == "integer" else "x1"

        return re.sub(r"\{([^}]+)\}", fill, self.template)


def _routes_from_table() -> list[Route]:
    """Every route of every module router, with the ``x-module`` its ``ModuleRouter`` set."""
    routes = []
    for package in MODULE_PACKAGES:
        for route in package.router.routes:
            assert isinstance(route, APIRoute), route
            extra = route.openapi_extra or {}
            assert "x-module" in extra, f"{route.path} was not registered through a ModuleRouter"
            params = {
                p.name: "integer" if p.field_info.annotation is int else "string"
                for p in route.dependant.path_params
            }
            for method in sorted(route.methods):
                routes.append(Route(method, route.path, extra["x-module"], params))
    return routes


def _openapi_operations() -> dict[tuple[str, str], dict[str, Any]]:
    doc = create_app().openapi()
    return {
        (method.upper(), path[len(API_PREFIX):]): op
        for path, item in doc["paths"].items()
        if path.startswith(API_PREFIX + "/")
        for method, op in item.items()
        if method in METHODS
    }


ROUTES = _routes_from_table()
TEMPLATED = [r for r in ROUTES if r.params]


def _ids(routes: list[Route]) -> list[str]:
    return [r.label for r in routes]


# -- bob's resources ---------------------------------------------------------------------------
class Bob:
    """Finds bob's resources through the control surface's raw state (no API key needed)."""

    def __init__(self, control: httpx.AsyncClient) -> None:
        self.control = control
        self._id: int | None = None

    async def id(self) -> int:
        if self._id is None:
            users = (await self.control.get("/state/users")).json()["items"]
            self._id = next(u["id"] for u in users if u["username"] == "bob")
        return self._id

    async def first(self, table: str, **match: Any) -> dict[str, Any]:
        response = await self.control.get(f"/state/{table}", params={"user_id": await self.id()})
        assert response.status_code == 200, response.text
        for doc in response.json()["items"]:
            if all(doc.get(k) == v for k, v in match.items()):
                return doc
        raise AssertionError(f"bob has no {table} row matching {match}: fix the demo seed or ID_FOR_BOB")


Params = Callable[[Bob], Awaitable[dict[str, Any]]]


def row(table: str, param: str = "id", column: str = "id", **match: Any) -> Params:
    """Path params ``{param: <column of bob's first row of table matching match>}``."""

    async def find(bob: Bob) -> dict[str, Any]:
        return {param: (await bob.first(table, **match))[column]}

    return find


def schedule_target(table: str) -> Params:
    """Bob's account with a schedule in ``table`` and the id of one of its targets."""

    async def find(bob: Bob) -> dict[str, Any]:
        response = await bob.control.get(f"/state/{table}", params={"user_id": await bob.id()})
        doc = next(d for d in response.json()["items"] if d.get("targets"))
        return {"account_id": doc["account_id"], "target_id": doc["targets"][0]["target_id"]}

    return find


def direct_thread(box: str) -> Params:
    async def find(bob: Bob) -> dict[str, Any]:
        doc = await bob.first("direct_threads", box=box)
        return {"account_id": doc["account_id"], "thread_id": doc["thread_id"]}

    return find


ACCOUNT = row("accounts")
CAPTION = row("captions")
MEDIA = row("media")
POST = row("posts", status="scheduled")  # editable, so the admin's PATCH succeeds
REACTIONS = row("reactions_schedules", "account_id", "account_id")
REPOST = row("repost_schedules", "account_id", "account_id")
JOB = row("post_actions_jobs")
LEADS_SCHEDULE = row("leads_schedules")
AI_DM_SCHEDULE = row("ai_dm_schedules")
AI_DM_THREAD = row("ai_dm_threads")
WELCOME_SCHEDULE = row("welcomedm_schedules")
FIRST_COMMENT = row("first_comment_schedules")
INBOX_THREAD = row("inbox_threads", column="thread_id")

# route template -> how to find bob's resource for it. Every templated route needs an entry
# (test_every_templated_route_has_bob_params), so a new route cannot skip the 404 check.
ID_FOR_BOB: dict[str, Params] = {
    "/accounts/{id}": ACCOUNT,
    "/accounts/{id}/stats": ACCOUNT,
    "/accounts/{id}/refresh-cookies": ACCOUNT,
    "/accounts/{id}/login-activity": ACCOUNT,
    "/accounts/{id}/change-proxy": ACCOUNT,
    "/accounts/{id}/set-public": ACCOUNT,
    "/accounts/{id}/set-private": ACCOUNT,
    "/accounts/{id}/2fa-backup": ACCOUNT,
    "/accounts/{id}/options": ACCOUNT,
    "/accounts/{id}/password": ACCOUNT,
    "/statistics/accounts/{id}": ACCOUNT,
    "/captions/{id}": CAPTION,
    "/media/{id}": MEDIA,
    "/posts/{id}": POST,
    "/reactions/schedules/{account_id}": REACTIONS,
    "/reactions/schedules/{account_id}/settings": REACTIONS,
    "/reactions/schedules/{account_id}/activate": REACTIONS,
    "/reactions/schedules/{account_id}/pause": REACTIONS,
    "/reactions/schedules/{account_id}/targets": REACTIONS,
    "/reactions/schedules/{account_id}/targets/{target_id}": schedule_target("reactions_schedules"),
    "/reactions/logs/{account_id}": REACTIONS,
    "/reactions/stats/{account_id}": REACTIONS,
    "/repost/schedules/{account_id}": REPOST,
    "/repost/schedules/{account_id}/settings": REPOST,
    "/repost/schedules/{account_id}/activate": REPOST,
    "/repost/schedules/{account_id}/pause": REPOST,
    "/repost/schedules/{account_id}/targets": REPOST,
    "/repost/schedules/{account_id}/targets/{target_id}": schedule_target("repost_schedules"),
    "/repost/logs/{account_id}": REPOST,
    "/post-actions/jobs/{id}": JOB,
    "/post-actions/logs/{id}": JOB,  # the per-account logs of job {id}
    "/leads/schedules/{id}": LEADS_SCHEDULE,
    "/leads/schedules/{id}/start": LEADS_SCHEDULE,
    "/leads/schedules/{id}/stop": LEADS_SCHEDULE,
    "/leads/schedules/{id}/export": LEADS_SCHEDULE,
    "/leads/logs/{id}": row("leads_logs"),
    "/ai-dm/schedules/{id}": AI_DM_SCHEDULE,
    "/ai-dm/schedules/{id}/activate": AI_DM_SCHEDULE,
    "/ai-dm/schedules/{id}/pause": AI_DM_SCHEDULE,
    "/ai-dm/logs/{id}": row("ai_dm_logs"),
    "/ai-dm/threads/{id}": AI_DM_THREAD,
    "/ai-dm/threads/{id}/messages": AI_DM_THREAD,
    "/welcomedm/schedules/{id}": WELCOME_SCHEDULE,
    "/welcomedm/schedules/{id}/activate": WELCOME_SCHEDULE,
    "/welcomedm/schedules/{id}/pause": WELCOME_SCHEDULE,
    "/welcomedm/logs/{id}": row("welcomedm_logs"),
    "/first-comment/schedules/{id}": FIRST_COMMENT,
    "/first-comment/schedules/{id}/activate": FIRST_COMMENT,
    "/first-comment/schedules/{id}/pause": FIRST_COMMENT,
    "/first-comment/logs/{account_id}": row("first_comment_schedules", "account_id", "account_id"),
    "/inbox/threads/{id}": INBOX_THREAD,
    "/inbox/threads/{id}/reply": INBOX_THREAD,
    "/inbox/threads/{id}/archive": INBOX_THREAD,
    "/inbox/threads/{id}/unarchive": INBOX_THREAD,
    "/inbox/threads/{id}/tags": INBOX_THREAD,
    "/inbox/tags/{id}": row("inbox_tags"),
    "/direct/{account_id}/inbox": row("direct_threads", "account_id", "account_id"),
    "/direct/{account_id}/pending": row("direct_threads", "account_id", "account_id", box="pending"),
    "/direct/{account_id}/threads/{thread_id}/messages": direct_thread("inbox"),
    "/direct/{account_id}/threads/{thread_id}/accept": direct_thread("pending"),
    "/direct/{account_id}/threads/{thread_id}/decline": direct_thread("pending"),
    "/direct/{account_id}/threads/{thread_id}/delete": direct_thread("inbox"),
}

# Valid bodies, so body validation (which runs before the handler) cannot answer first.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/accounts/change-proxy/bulk"): {"account_ids": [1], "proxy": "http://10.0.0.9:8080"},
    ("POST", "/accounts/password/bulk"): {"accounts": [{"account_id": 1, "password": "s3cret-pass"}]},
    ("POST", "/accounts/{id}/change-proxy"): {"proxy": "http://10.0.0.9:8080"},
    ("POST", "/accounts/{id}/password"): {"password": "s3cret-pass"},
    ("POST", "/accounts"): {"username": "gate_check", "password": "s3cret-pass"},
    ("POST", "/accounts/login"): {"account_id": 1},
    ("POST", "/accounts/challenge"): {"account_id": 1, "code": "000000"},
    ("PATCH", "/accounts/{id}"): {"is_active": True},
    ("PATCH", "/user"): {"timezone": "Europe/Berlin"},
    ("POST", "/keys/generate"): {"name": "gate-check"},
    ("POST", "/keys/revoke"): {"key_id": 999_999},  # nobody's: the gate world's keys stay valid
    ("POST", "/captions"): {"title": "Gate check", "caption": "Hello"},
    ("PATCH", "/captions/{id}"): {"title": "Renamed"},
    ("PATCH", "/posts/{id}"): {"caption": "Edited caption"},
    ("PATCH", "/reactions/schedules/{account_id}/settings"): {"speed": 3},
    ("POST", "/reactions/schedules/{account_id}/targets"): {"type": "hashtag", "value": "gatecheck"},
    ("DELETE", "/reactions/schedules/{account_id}/targets"): {"type": "hashtag", "value": "gatecheck"},
    ("PATCH", "/repost/schedules/{account_id}/settings"): {"speed": 3},
    ("POST", "/repost/schedules/{account_id}/targets"): {"type": "hashtag", "value": "gatecheck"},
    ("DELETE", "/repost/schedules/{account_id}/targets"): {"type": "hashtag", "value": "gatecheck"},
    ("PATCH", "/first-comment/schedules/{id}"): {"comments": ["Nice one!"]},
    ("POST", "/inbox/threads/{id}/reply"): {"content": "Thanks!"},
    ("POST", "/inbox/threads/{id}/tags"): {"add": [], "remove": []},
    ("POST", "/inbox/tags"): {"name": "gate-check"},
}


async def send(client: httpx.AsyncClient, route: Route, params: dict[str, Any] | None = None) -> httpx.Response:
    body = BODIES.get(route.key)
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    return await client.request(route.method, route.url(params), **kwargs)


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> None:
    """The status, and the error envelope of the route's module (Post Actions has its own)."""
    assert response.status_code == status, (response.request.method, response.request.url.path, response.text)
    body = response.json()
    if response.request.url.path.startswith(API_PREFIX + "/post-actions"):
        assert body.get("success") is False and "status" not in body, body
    else:
        assert body.get("status") == "error" and "success" not in body, body
    if message is not None:
        assert body["message"] == message, body


# -- the route table itself ----------------------------------------------------------------------
def test_route_table_is_the_openapi_document():
    """Every route is documented, with its module as ``x-module`` (absent: a core route),
    and nothing in /openapi.json escapes the generated checks."""
    operations = _openapi_operations()
    assert set(operations) == {r.key for r in ROUTES}
    for route in ROUTES:
        assert operations[route.key].get("x-module") == route.module, route.label
    assert len(ROUTES) >= 110


def test_every_templated_route_has_bob_params():
    missing = sorted({r.template for r in TEMPLATED} - ID_FOR_BOB.keys())
    assert not missing, f"add these route templates to ID_FOR_BOB: {missing}"
    stale = sorted(ID_FOR_BOB.keys() - {r.template for r in TEMPLATED})
    assert not stale, f"ID_FOR_BOB names routes that no longer exist: {stale}"


def test_every_body_names_a_route():
    assert not set(BODIES) - {r.key for r in ROUTES}


# -- a shared world for the gates (they answer before any handler, so nothing changes) ------------
@dataclass
class GateWorld:
    emu: LocalEmulator
    planless_key: str


@pytest.fixture(scope="module")
def gate_world() -> Iterator[GateWorld]:
    emu = LocalEmulator("demo")

    async def create_user() -> str:
        async with emu.control() as control:
            response = await control.post("/users", json={"username": "planless", "modules": []})
            assert response.status_code == 200, response.text
            return response.json()["key"]

    yield GateWorld(emu, anyio.run(create_user))


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
async def test_no_key_is_401_unauthorized(gate_world: GateWorld, route: Route):
    async with gate_world.emu.http(None) as anonymous:
        assert_error(await send(anonymous, route), 401, "Unauthorized")


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
async def test_unknown_key_is_401_invalid(gate_world: GateWorld, route: Route):
    async with gate_world.emu.http(None, headers={"Authorization": f"Bearer {UNKNOWN_KEY}"}) as client:
        assert_error(await send(client, route), 401, "Invalid API key")
    async with gate_world.emu.http(None, headers={"X-API-Key": UNKNOWN_KEY}) as client:
        assert_error(await send(client, route), 401, "Invalid API key")


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
async def test_malformed_body_does_not_skip_the_gates(gate_world: GateWorld, route: Route):
    """FastAPI parses a JSON body before the route's dependencies; the gates still come first."""
    junk = {"content": b'{"not": json', "headers": {"Content-Type": "application/json"}}
    async with gate_world.emu.http(None) as anonymous:
        assert_error(await anonymous.request(route.method, route.url(), **junk), 401, "Unauthorized")
    headers = {"Authorization": f"Bearer {gate_world.planless_key}"}
    async with gate_world.emu.http(None, headers=headers) as planless:
        response = await planless.request(route.method, route.url(), **junk)
    if route.module is not None:
        assert_error(response, 403, "Module not enabled")


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
async def test_plan_without_the_module_is_403(gate_world: GateWorld, route: Route):
    headers = {"Authorization": f"Bearer {gate_world.planless_key}"}
    async with gate_world.emu.http(None, headers=headers) as planless:
        response = await send(planless, route)
    if route.module is None:
        assert response.status_code not in (401, 403, 503), response.text
    else:
        assert_error(response, 403, "Module not enabled")


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
async def test_module_not_installed_is_503(gate_world: GateWorld, route: Route):
    emu = gate_world.emu
    others = [m for m in MODULES if m != route.module]
    headers = {"Authorization": f"Bearer {gate_world.planless_key}"}
    async with emu.control() as control, emu.http("alice") as alice, emu.http(None) as anonymous, \
            emu.http(None, headers=headers) as planless:
        assert (await control.put("/modules", json={"installed": others})).status_code == 200
        try:
            response = await send(alice, route)
            if route.module is None:
                assert response.status_code not in (401, 403, 503), response.text
                return
            assert_error(response, 503)
            assert route.module in response.json()["message"]
            # The order is 401, then 503, then 403: the server's state before the user's plan.
            assert_error(await send(anonymous, route), 401, "Unauthorized")
            assert_error(await send(planless, route), 503)
        finally:
            await control.put("/modules", json={"installed": list(MODULES)})


# -- cross-user 404 ----------------------------------------------------------------------------
@pytest.mark.parametrize("route", TEMPLATED, ids=_ids(TEMPLATED))
async def test_another_users_resource_is_404(request: pytest.FixtureRequest, gate_world: GateWorld, route: Route):
    # GETs change nothing and share a world; a write gets a fresh one, since the admin's
    # request below may delete or change bob's resource. (A new app costs about a second:
    # FastAPI builds its routes on the first request.)
    emu: LocalEmulator = gate_world.emu if route.method == "GET" else request.getfixturevalue("emu")
    find = ID_FOR_BOB.get(route.template)
    if find is None:
        pytest.fail(f"{route.template} has no entry in ID_FOR_BOB")
    async with emu.control() as control:
        params = await find(Bob(control))
    async with emu.http("alice") as alice:
        assert_error(await send(alice, route, params), 404)
    # The id is bob's real resource: the admin (who sees across users) gets past the lookup.
    async with emu.http("admin") as admin:
        response = await send(admin, route, params)
    assert response.status_code != 404 and response.status_code < 500, response.text
