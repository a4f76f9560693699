"""Direct Basic (module ``direct-basic``) against the in-process emulator.

Demo facts used: alice's fashion_nova (account 1) has 13 primary threads (one a 26-message
group chat), 3 general and 3 pending requests; accounts 5, 10, 17 and 23 have smaller
inboxes; bob's account 26 has 3 threads and 1 request; account 2 has no DMs at all.
"""

from __future__ import annotations

import base64
import json

import httpx

from tests.conftest import data, error

THREAD_FIELDS = {"thread_id", "thread_title", "is_group", "unread_count", "participants",
                 "last_message", "last_activity", "pending", "archived"}


async def walk(client: httpx.AsyncClient, path: str, key: str = "threads", **params: object) -> list[dict]:
    """Every item of a cursor-paged list, following ``next_cursor`` to the end."""
    out: list[dict] = []
    cursor = None
    while True:
        page = data(await client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}))
        out += page[key]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


async def a_pending(client: httpx.AsyncClient, account_id: int) -> str:
    return data(await client.get(f"/direct/{account_id}/pending"))["threads"][0]["thread_id"]


async def an_inbox_thread(client: httpx.AsyncClient, account_id: int) -> str:
    return data(await client.get(f"/direct/{account_id}/inbox"))["threads"][0]["thread_id"]


# -- GET /direct/{account_id}/inbox -----------------------------------------------------------
async def test_inbox_pages_by_cursor(alice):
    first = data(await alice.get("/direct/1/inbox", params={"folder": 0}))
    assert set(first) == {"threads", "next_cursor", "pending_count"}
    assert len(first["threads"]) == 10 and first["next_cursor"] and first["pending_count"] == 3
    second = data(await alice.get("/direct/1/inbox", params={"folder": 0, "cursor": first["next_cursor"]}))
    assert len(second["threads"]) == 3 and second["next_cursor"] is None
    threads = first["threads"] + second["threads"]
    assert len({t["thread_id"] for t in threads}) == 13
    activity = [t["last_activity"] for t in threads]
    assert activity == sorted(activity, reverse=True)


async def test_inbox_thread_object(alice):
    thread = data(await alice.get("/direct/1/inbox"))["threads"][0]
    assert set(thread) == THREAD_FIELDS
    assert thread["thread_id"].isdigit() and len(thread["thread_id"]) == 39
    assert thread["pending"] is False and isinstance(thread["archived"], bool)
    assert set(thread["participants"][0]) == {"id", "username"}
    assert set(thread["last_message"]) == {"type", "timestamp", "text"}
    assert thread["last_message"]["timestamp"] == thread["last_activity"]
    assert thread["last_activity"] > 10**15  # microseconds
    if not thread["is_group"]:
        assert thread["thread_title"] == thread["participants"][0]["username"]


async def test_folders(alice):
    primary = await walk(alice, "/direct/1/inbox")  # folder defaults to primary
    general = await walk(alice, "/direct/1/inbox", folder=1)
    assert len(primary) == 13 and len(general) == 3
    assert not {t["thread_id"] for t in primary} & {t["thread_id"] for t in general}
    assert "folder" in error(await alice.get("/direct/1/inbox", params={"folder": 2}), 422)["errors"]
    error(await alice.get("/direct/1/inbox", params={"folder": "primary"}), 422)


async def test_an_account_without_dms_is_empty(alice):
    assert data(await alice.get("/direct/2/inbox")) == {"threads": [], "next_cursor": None, "pending_count": 0}
    assert data(await alice.get("/direct/2/pending")) == {"threads": [], "next_cursor": None}


async def test_malformed_cursors_are_422(alice):
    messages_cursor = base64.urlsafe_b64encode(json.dumps({"k": "messages", "p": [1, 2]}).encode()).decode()
    for bad in ("QVFEZ", "garbage!", "eyJpZCI6NDJ9", messages_cursor.rstrip("=")):
        assert "cursor" in error(await alice.get("/direct/1/inbox", params={"cursor": bad}), 422)["errors"]
        error(await alice.get("/direct/1/pending", params={"cursor": bad}), 422)


async def test_another_users_account_is_404(alice, bob, admin):
    error(await alice.get("/direct/26/inbox"), 404, "Account not found")
    error(await alice.get("/direct/999/inbox"), 404, "Account not found")
    error(await alice.get(f"/direct/{2**70}/inbox"), 404, "Account not found")
    error(await bob.get("/direct/1/pending"), 404, "Account not found")
    error(await alice.get("/direct/abc/inbox"), 422)
    assert data(await admin.get("/direct/1/inbox"))["pending_count"] == 3
    assert len(await walk(bob, "/direct/26/inbox")) == 2


# -- GET /direct/{account_id}/pending ------------------------------------------------------------
async def test_pending_requests(alice):
    page = data(await alice.get("/direct/1/pending"))
    assert set(page) == {"threads", "next_cursor"} and page["next_cursor"] is None
    assert len(page["threads"]) == 3
    assert all(t["pending"] is True and set(t) == THREAD_FIELDS for t in page["threads"])
    inbox_ids = {t["thread_id"] for t in await walk(alice, "/direct/1/inbox")}
    assert not inbox_ids & {t["thread_id"] for t in page["threads"]}
    for account_id in (5, 10, 17, 23):
        count = data(await alice.get(f"/direct/{account_id}/inbox"))["pending_count"]
        assert 1 <= count <= 3 and len(await walk(alice, f"/direct/{account_id}/pending")) == count


# -- GET /direct/{account_id}/threads/{thread_id}/messages ---------------------------------------
async def test_messages_newest_first_with_cursor_for_older(alice):
    group = next(t for t in await walk(alice, "/direct/1/inbox") if t["is_group"])
    path = f"/direct/1/threads/{group['thread_id']}/messages"
    first = data(await alice.get(path))
    assert first["thread_id"] == group["thread_id"] and len(first["messages"]) == 20 and first["next_cursor"]
    older = data(await alice.get(path, params={"cursor": first["next_cursor"]}))
    assert len(older["messages"]) == 6 and older["next_cursor"] is None
    messages = first["messages"] + older["messages"]
    stamps = [m["timestamp"] for m in messages]
    assert stamps == sorted(stamps, reverse=True)
    newest = messages[0]
    assert set(newest) == {"id", "type", "timestamp", "user_id", "text", "is_sent_by_me"}
    assert group["last_message"] == {"type": newest["type"], "timestamp": newest["timestamp"], "text": newest["text"]}
    thread_no, seq = messages[-1]["id"].split(":")
    assert thread_no.isdigit() and seq == "1" and newest["id"] == f"{thread_no}:26"
    mine = {m["user_id"] for m in messages if m["is_sent_by_me"]}
    theirs = {m["user_id"] for m in messages if not m["is_sent_by_me"]}
    assert len(mine) == 1 and theirs == {p["id"] for p in group["participants"]}


async def test_messages_errors(alice, bob):
    tid = await an_inbox_thread(alice, 1)
    error(await alice.get(f"/direct/10/threads/{tid}/messages"), 404, "Thread not found")  # not that account's
    unknown = "340282366841710300949128224619416664029"
    error(await alice.get(f"/direct/1/threads/{unknown}/messages"), 404, "Thread not found")
    error(await alice.get("/direct/1/threads/not-a-thread/messages"), 404)
    error(await bob.get(f"/direct/1/threads/{tid}/messages"), 404, "Account not found")
    inbox_cursor = data(await alice.get("/direct/1/inbox"))["next_cursor"]
    error(await alice.get(f"/direct/1/threads/{tid}/messages", params={"cursor": inbox_cursor}), 422)
    # A message request can be read before it is accepted.
    assert data(await alice.get(f"/direct/1/threads/{await a_pending(alice, 1)}/messages"))["messages"]


# -- accept / decline / delete ---------------------------------------------------------------------
async def test_accept_moves_a_request_to_the_primary_inbox(alice):
    tid = await a_pending(alice, 10)
    body = (await alice.post(f"/direct/10/threads/{tid}/accept")).json()
    assert body == {"status": "success", "data": {"thread_id": tid}, "message": "Thread accepted."}
    assert tid not in {t["thread_id"] for t in await walk(alice, "/direct/10/pending")}
    accepted = next(t for t in await walk(alice, "/direct/10/inbox", folder=0) if t["thread_id"] == tid)
    assert accepted["pending"] is False
    assert data(await alice.get("/direct/10/inbox"))["pending_count"] == 1
    error(await alice.post(f"/direct/10/threads/{tid}/accept"), 409)


async def test_accept_and_decline_need_a_pending_thread(alice):
    tid = await an_inbox_thread(alice, 1)
    error(await alice.post(f"/direct/1/threads/{tid}/accept"), 409)
    error(await alice.post(f"/direct/1/threads/{tid}/decline"), 409)
    assert tid in {t["thread_id"] for t in await walk(alice, "/direct/1/inbox")}


async def test_decline_hides_a_request(alice):
    tid = await a_pending(alice, 23)
    body = (await alice.post(f"/direct/23/threads/{tid}/decline")).json()
    assert body == {"status": "success", "data": {"thread_id": tid}, "message": "Thread declined."}
    assert tid not in {t["thread_id"] for t in await walk(alice, "/direct/23/pending")}
    assert tid not in {t["thread_id"] for t in await walk(alice, "/direct/23/inbox")}
    assert data(await alice.get("/direct/23/inbox"))["pending_count"] == 1
    error(await alice.get(f"/direct/23/threads/{tid}/messages"), 404, "Thread not found")
    error(await alice.post(f"/direct/23/threads/{tid}/decline"), 404)
    error(await alice.post(f"/direct/23/threads/{tid}/accept"), 404)


async def test_delete_removes_a_thread(alice, control):
    tid = await an_inbox_thread(alice, 17)
    body = (await alice.post(f"/direct/17/threads/{tid}/delete")).json()
    assert body == {"status": "success", "data": {"thread_id": tid}, "message": "Thread deleted."}
    assert tid not in {t["thread_id"] for t in await walk(alice, "/direct/17/inbox")}
    error(await alice.get(f"/direct/17/threads/{tid}/messages"), 404)
    error(await alice.post(f"/direct/17/threads/{tid}/delete"), 404, "Thread not found")
    request = await a_pending(alice, 17)
    data(await alice.post(f"/direct/17/threads/{request}/delete"))
    assert data(await alice.get("/direct/17/inbox"))["pending_count"] == 0
    raw = (await control.get("/state/direct_threads", params={"account_id": 17})).json()["items"]
    assert {d["thread_id"]: d["box"] for d in raw if d["thread_id"] in (tid, request)} == {
        tid: "deleted", request: "deleted"}


async def test_actions_404_for_other_users_and_accounts(alice, bob):
    bobs_request = await a_pending(bob, 26)
    for action in ("accept", "decline", "delete"):
        error(await alice.post(f"/direct/26/threads/{bobs_request}/{action}"), 404, "Account not found")
        error(await alice.post(f"/direct/1/threads/{bobs_request}/{action}"), 404, "Thread not found")
        error(await alice.post(f"/direct/999/threads/1/{action}"), 404, "Account not found")
    assert bobs_request in {t["thread_id"] for t in await walk(bob, "/direct/26/pending")}


async def test_module_gate(emu, control):
    user = (await control.post("/users", json={"username": "dave", "modules": ["inbox"]})).json()
    async with emu.http(None, headers={"Authorization": f"Bearer {user['key']}"}) as dave:
        error(await dave.get("/direct/1/inbox"), 403, "Module not enabled")
    await control.put("/modules", json={"installed": ["inbox"]})
    async with emu.http("alice") as alice:
        error(await alice.get("/direct/1/pending"), 503)
