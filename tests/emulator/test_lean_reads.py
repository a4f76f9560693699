"""The emulator's read paths made for speed answer exactly as the plain ones do.

- The lean GET path (``fast_routes.FastReads``): two apps over one world, one with it and one
  without; every GET route of the route table, with path values that exist, belong to another
  user, do not exist or are not integers, with query strings FastAPI validates (bad values,
  repeated names, unknown names, clamped pages) and with every kind of key, must give the same
  status, headers and body, byte for byte.
- Lists spliced from kept JSON texts (``Table.find_rendered``) and settings answers made once
  per distinct stored settings (``Automation.settings_json``): the bytes that rendering each
  document gives, on a first read, on a read from what was kept, and after writes.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from orchestrator.emulator.app import API_PREFIX, api_error_response, create_app
from orchestrator.emulator.fast_routes import FastReads, plan_for
from orchestrator.emulator.modules import MODULES
from orchestrator.emulator.seed import apply_seed
from orchestrator.emulator.state import EmulatorState

GET_ROUTES = [r for m in MODULES for r in m.router.routes if isinstance(r, APIRoute) and "GET" in r.methods]
PATH_VALUES = ["1", "9", "26", "999999", "abc", "-1", "007", "99999999999999999999"]
QUERIES = ["", "page=2&per_page=3", "per_page=1000&page=0", "page=abc", "page=1&page=2", "no_such_filter=1",
           "is_active=true", "is_active=yes", "is_active=TRUE", "account_id=3", "account_id=x", "search=fit",
           "status=success", "days=7", "page=%32"]


@pytest.fixture(scope="module")
def clients() -> tuple[Any, Any, dict[str, str]]:
    state = EmulatorState()
    keys = apply_seed(state, "demo")
    return create_app(state), create_app(state, lean_reads=False), keys


def _urls(route: APIRoute) -> list[str]:
    names = re.findall(r"\{([^}]+)\}", route.path)
    urls = []
    for values in itertools.islice(itertools.product(PATH_VALUES, repeat=len(names)), 12):
        path = route.path
        for name, value in zip(names, values, strict=True):
            path = path.replace("{" + name + "}", value)
        urls.append(API_PREFIX + path)
    return urls


def _auths(keys: dict[str, str]) -> list[dict[str, str]]:
    return [{"Authorization": f"Bearer {keys['alice']}"}, {"X-API-Key": keys["bob"]}, {},
            {"Authorization": "Bearer sht_" + "0" * 64}, {"Authorization": f"Bearer {keys['admin']}"}]


@pytest.mark.parametrize("route", GET_ROUTES, ids=lambda r: r.path)
async def test_the_lean_path_answers_as_fastapi_does(clients, route: APIRoute) -> None:
    lean_app, full_app, keys = clients
    lean = httpx.AsyncClient(transport=httpx.ASGITransport(app=lean_app), base_url="http://emu")
    full = httpx.AsyncClient(transport=httpx.ASGITransport(app=full_app), base_url="http://emu")
    async with lean, full:
        for url, query, headers in itertools.product(_urls(route), QUERIES, _auths(keys)[:2]):
            target = f"{url}?{query}" if query else url
            a, b = await lean.get(target, headers=headers), await full.get(target, headers=headers)
            assert (a.status_code, a.headers.multi_items(), a.content) == (
                b.status_code, b.headers.multi_items(), b.content), target
        for headers in _auths(keys):  # every kind of key, on the plain URL
            a, b = await lean.get(_urls(route)[0], headers=headers), await full.get(_urls(route)[0], headers=headers)
            assert (a.status_code, a.content) == (b.status_code, b.content), (route.path, headers)


def test_the_planners_reads_take_the_lean_path() -> None:
    hot = {"/accounts", "/accounts/{id}", "/reactions/schedules", "/reactions/schedules/{account_id}",
           "/reactions/schedules/{account_id}/settings", "/reactions/schedules/{account_id}/targets",
           "/repost/schedules", "/repost/schedules/{account_id}", "/repost/schedules/{account_id}/settings",
           "/welcomedm/schedules", "/first-comment/schedules", "/leads/schedules", "/ai-dm/schedules"}
    simple = {r.path for r in GET_ROUTES if plan_for(r, API_PREFIX) is not None}
    assert hot <= simple


async def test_a_simple_get_never_reaches_fastapi_and_anything_else_does() -> None:
    state = EmulatorState()
    keys = apply_seed(state, "demo")
    app = create_app(state, lean_reads=False)
    reached: list[str] = []

    async def fastapi(scope: Any, receive: Any, send: Any) -> None:
        reached.append(f"{scope['method']} {scope['path']}")
        await app(scope, receive, send)

    lean = FastReads(fastapi, routes=GET_ROUTES, prefix=API_PREFIX, error_response=api_error_response)

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = app  # what Starlette sets before its middleware (``state_of`` reads it)
        await lean(scope, receive, send)

    headers = {"Authorization": f"Bearer {keys['alice']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://emu") as client:
        assert (await client.get(f"{API_PREFIX}/accounts/1", headers=headers)).status_code == 200
        assert (await client.get(f"{API_PREFIX}/accounts?page=2&per_page=5", headers=headers)).status_code == 200
        assert (await client.get(f"{API_PREFIX}/accounts/26", headers=headers)).status_code == 404
        assert (await client.get(f"{API_PREFIX}/accounts/1")).status_code == 401
        assert reached == []
        assert (await client.get(f"{API_PREFIX}/accounts/abc", headers=headers)).status_code == 422
        assert (await client.get(f"{API_PREFIX}/accounts?is_active=yes", headers=headers)).status_code == 200
        assert (await client.head(f"{API_PREFIX}/accounts/1", headers=headers)).status_code == 405  # as before
        assert (await client.get(f"{API_PREFIX}/posts", headers=headers)).status_code == 200  # not simple
        assert reached == [f"GET {API_PREFIX}/accounts/abc", f"GET {API_PREFIX}/accounts",
                           f"HEAD {API_PREFIX}/accounts/1", f"GET {API_PREFIX}/posts"]


@pytest.mark.parametrize(("path", "table", "view", "order"), [
    ("/accounts", "accounts", "orchestrator.emulator.modules.accounts.models:public", "id"),
    ("/reactions/schedules", "reactions_schedules", "orchestrator.emulator.modules.reactions.models:REACTIONS.public",
     "account_id"),
    ("/repost/schedules", "repost_schedules", "orchestrator.emulator.modules.repost.models:REPOST.public",
     "account_id"),
    ("/welcomedm/schedules", "welcomedm_schedules", "orchestrator.emulator.modules.welcomedm.models:public_schedule",
     "id"),
    ("/first-comment/schedules", "first_comment_schedules",
     "orchestrator.emulator.modules.first_comment.models:public_schedule", "id"),
    ("/ai-dm/schedules", "ai_dm_schedules", "orchestrator.emulator.modules.ai_dm.models:public_schedule", "id"),
])
async def test_list_pages_are_the_documents_views_before_and_after_a_write(emu, alice, path, table, view, order):
    """Lists are spliced from kept JSON texts (``find_rendered``): byte for byte what rendering
    each document's view gives, on the first read, on a read from the kept texts, and after
    the documents change (a tick of the engine writes most schedules)."""
    import importlib

    from orchestrator.emulator.envelope import ok, paged

    module, _, attr = view.partition(":")
    render: Any = importlib.import_module(module)
    for part in attr.split("."):
        render = getattr(render, part)
    alice_id = next(u["id"] for u in emu.state.users.iter() if u["username"] == "alice")

    async def expected(page: int) -> bytes:
        docs, total = emu.state.store.table(table).find(user_id=alice_id, order=order, page=page, per_page=4)
        return bytes(ok(paged([render(d) for d in docs], total, page, 4)).body)

    for _ in range(2):
        for page in (1, 2, 3):
            answer = await alice.get(path, params={"page": page, "per_page": 4})
            assert answer.status_code == 200 and answer.content == await expected(page), (path, page)
        async with emu.control() as control:
            assert (await control.post("/clock/advance", json={"seconds": 7200, "ticks": 3})).status_code == 200
        await alice.post("/reactions/bulk/pause")
        await alice.patch("/accounts/2", json={"is_active": False})


@pytest.mark.parametrize("module", ["reactions", "repost"])
async def test_a_settings_answer_is_the_merged_settings_before_and_after_a_patch(emu, alice, module):
    """Settings answers are made once per distinct stored settings (``settings_json``): byte
    for byte what encoding ``read_settings`` gives, for schedules that share settings and for
    one whose settings were just changed."""
    from orchestrator.emulator.envelope import ok
    from orchestrator.emulator.modules.reactions.models import REACTIONS
    from orchestrator.emulator.modules.repost.models import REPOST

    spec = REACTIONS if module == "reactions" else REPOST

    def expected(account_id: int) -> bytes:
        doc = spec.schedules(emu.state.store).find_one(account_id=account_id)
        return bytes(ok({"account_id": account_id, "settings": spec.read_settings(doc)}).body)

    for account_id in (1, 2, 3, 1):
        answer = await alice.get(f"/{module}/schedules/{account_id}/settings")
        assert answer.status_code == 200 and answer.content == expected(account_id)
    change = {"daily_pause": True, "daily_pause_from": "01:30"}
    assert (await alice.patch(f"/{module}/schedules/2/settings", json=change)).status_code == 200
    for account_id in (2, 3):
        assert (await alice.get(f"/{module}/schedules/{account_id}/settings")).content == expected(account_id)
    assert b'"daily_pause_from":"01:30"' in (await alice.get(f"/{module}/schedules/2/settings")).content
