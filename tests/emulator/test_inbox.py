"""InBox (module ``inbox``) against the in-process emulator.

Demo facts used: alice has 30 threads (some archived) over DMs, comments and reviews and
four tags (VIP, Lead, Support, Complaint); bob has a few threads and one tag named VIP.
"""

from __future__ import annotations

import base64
import json

import httpx

from tests.conftest import data, error

THREAD_FIELDS = {"thread_id", "account_id", "channel_type", "participants", "unread_count",
                 "last_message", "last_activity_at", "is_archived", "status", "tags"}


async def all_threads(client: httpx.AsyncClient, **params: object) -> list[dict]:
    """Every thread matching ``params``, following ``next_cursor`` to the end."""
    out: list[dict] = []
    cursor = None
    while True:
        page = data(await client.get("/inbox/threads", params={**params, **({"cursor": cursor} if cursor else {})}))
        out += page["threads"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


async def first_thread(client: httpx.AsyncClient, **params: object) -> dict:
    threads = data(await client.get("/inbox/threads", params=params))["threads"]
    assert threads, params
    return threads[0]


async def tag_ids(client: httpx.AsyncClient) -> dict[str, int]:
    return {t["name"]: t["id"] for t in data(await client.get("/inbox/tags"))["tags"]}


def decode_remote(thread_id: str) -> tuple[int, str, str]:
    account, channel, encoded = thread_id.split("_", 2)
    return int(account), channel, base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()


# -- GET /inbox/threads -----------------------------------------------------------------
async def test_list_threads_shape_and_order(alice):
    page = data(await alice.get("/inbox/threads"))
    assert set(page) == {"threads", "next_cursor", "total"}  # a cursor page, not items/page/per_page
    assert len(page["threads"]) == 20 and page["total"] == 25 and page["next_cursor"]
    thread = page["threads"][0]
    assert set(thread) == THREAD_FIELDS
    assert set(thread["last_message"]) == {"content_type", "content", "timestamp", "is_sent_by_us"}
    assert set(thread["participants"][0]) == {"id", "username", "avatar"}
    stamps = [t["last_activity_at"] for t in page["threads"]]
    assert stamps == sorted(stamps, reverse=True) and stamps[0].endswith("Z")
    assert all(not t["is_archived"] for t in page["threads"])


async def test_thread_id_is_the_documented_compound(alice):
    for thread in await all_threads(alice):
        account_id, channel, remote = decode_remote(thread["thread_id"])
        assert (account_id, channel) == (thread["account_id"], thread["channel_type"])
        assert remote.startswith({"dm": "t_", "comment": "c_", "review": "r_"}[channel])
        assert "=" not in thread["thread_id"]


async def test_cursor_walk_covers_every_thread_once(alice):
    everything = await all_threads(alice, limit=100)
    walked = await all_threads(alice, limit=7)
    assert [t["thread_id"] for t in walked] == [t["thread_id"] for t in everything]
    assert len(walked) == 25
    last = data(await alice.get("/inbox/threads", params={"limit": 100}))
    assert last["next_cursor"] is None


async def test_cursor_is_stable_when_a_thread_moves_to_the_top(alice):
    first = data(await alice.get("/inbox/threads", params={"limit": 5}))
    # A reply moves a later thread to the top; the next page still starts after the cursor.
    mover = (await all_threads(alice))[-1]["thread_id"]
    data(await alice.post(f"/inbox/threads/{mover}/reply", json={"content": "Following up!"}))
    second = data(await alice.get("/inbox/threads", params={"limit": 5, "cursor": first["next_cursor"]}))
    seen = {t["thread_id"] for t in first["threads"]}
    assert not seen & {t["thread_id"] for t in second["threads"]}
    assert mover not in {t["thread_id"] for t in second["threads"]}


async def test_limit_is_clamped(alice):
    assert len(data(await alice.get("/inbox/threads", params={"limit": 1000}))["threads"]) == 25
    assert len(data(await alice.get("/inbox/threads", params={"limit": 0}))["threads"]) == 1
    error(await alice.get("/inbox/threads", params={"limit": "many"}), 422)


async def test_malformed_cursor_is_422(alice):
    for bad in ("not a cursor", "eyJpZCI6NDJ9", "%%%", "A",
                base64.urlsafe_b64encode(json.dumps({"k": "messages", "p": [1, 2]}).encode()).decode().rstrip("=")):
        body = error(await alice.get("/inbox/threads", params={"cursor": bad}), 422)
        assert "cursor" in body["errors"]


async def test_list_is_scoped_to_the_user(alice, bob, admin):
    bobs = await all_threads(bob)
    assert bobs and {t["account_id"] for t in bobs} <= set(range(26, 30))
    assert {t["account_id"] for t in await all_threads(alice)} <= set(range(1, 26))
    assert data(await admin.get("/inbox/threads"))["total"] == 25 + len(bobs)
    assert data(await alice.get("/inbox/threads", params={"account_id": 26}))["total"] == 0


async def test_filters(alice):
    one = await first_thread(alice)
    by_account = await all_threads(alice, account_id=one["account_id"])
    assert by_account and all(t["account_id"] == one["account_id"] for t in by_account)
    for channel in ("dm", "comment", "review"):
        threads = await all_threads(alice, channel_type=channel)
        assert threads and all(t["channel_type"] == channel for t in threads)
    for status in ("open", "closed", "pending"):
        threads = await all_threads(alice, status=status, archived=True) + await all_threads(alice, status=status)
        assert threads and all(t["status"] == status for t in threads)
    mixed = await all_threads(alice, channel_type="dm", status="open")
    assert all((t["channel_type"], t["status"]) == ("dm", "open") for t in mixed)
    error(await alice.get("/inbox/threads", params={"channel_type": "sms"}), 422)
    error(await alice.get("/inbox/threads", params={"status": "snoozed"}), 422)


async def test_tag_filter_by_id_or_name(alice, bob):
    ids = await tag_ids(alice)
    by_id = await all_threads(alice, tag=ids["Complaint"])
    assert by_id and all("Complaint" in {t["name"] for t in th["tags"]} for th in by_id)
    by_name = await all_threads(alice, tag="complaint")
    assert [t["thread_id"] for t in by_name] == [t["thread_id"] for t in by_id]
    assert data(await alice.get("/inbox/threads", params={"tag": "No such tag"}))["total"] == 0
    # Bob's VIP tag is his: its id finds nothing for alice, and alice's "VIP" is hers only.
    bobs_vip = (await tag_ids(bob))["VIP"]
    assert data(await alice.get("/inbox/threads", params={"tag": bobs_vip}))["total"] == 0
    assert {t["account_id"] for t in await all_threads(alice, tag="VIP")} <= set(range(1, 26))


async def test_archived_threads_are_listed_only_on_request(alice):
    archived = await all_threads(alice, archived=True)
    assert len(archived) == 5 and all(t["is_archived"] for t in archived)
    assert not {t["thread_id"] for t in archived} & {t["thread_id"] for t in await all_threads(alice)}


# -- GET /inbox/threads/{id} --------------------------------------------------------------
async def test_get_thread_with_recent_messages(alice):
    listed = await first_thread(alice)
    thread = data(await alice.get(f"/inbox/threads/{listed['thread_id']}"))
    assert {k: v for k, v in thread.items() if k != "messages"} == listed
    messages = thread["messages"]
    assert 1 <= len(messages) <= 6
    assert set(messages[0]) == {"id", "content_type", "content", "timestamp", "is_sent_by_us", "sender"}
    assert [m["timestamp"] for m in messages] == sorted(m["timestamp"] for m in messages)
    last = messages[-1]
    assert {k: last[k] for k in ("content_type", "content", "timestamp", "is_sent_by_us")} == thread["last_message"]


async def test_get_thread_errors(alice, bob, admin):
    bobs = await first_thread(bob)
    error(await alice.get(f"/inbox/threads/{bobs['thread_id']}"), 404, "Thread not found")
    assert data(await admin.get(f"/inbox/threads/{bobs['thread_id']}"))["account_id"] == bobs["account_id"]
    for bad in ("abc", "1_dm_", "1_sms_dF8xMjM", "01_dm_dF8xMjM", "1_dm_!!!", "1_dm_dF8xMjM", "²_dm_dF8xMjM"):
        error(await alice.get(f"/inbox/threads/{bad}"), 404, "Thread not found")


# -- POST /inbox/threads/{id}/reply ---------------------------------------------------------
async def test_reply_answers_exactly_as_documented(alice):
    thread = await first_thread(alice, status="open")
    tid = thread["thread_id"]
    body = (await alice.post(f"/inbox/threads/{tid}/reply", json={"content": "Yes, still available! 🙌"})).json()
    assert body == {"status": "success", "data": {"thread_id": tid, "sent": True}, "message": "Reply sent."}
    after = data(await alice.get(f"/inbox/threads/{tid}"))
    assert after["unread_count"] == 0
    assert after["last_message"]["content"] == "Yes, still available! 🙌"
    assert after["last_message"]["is_sent_by_us"] is True
    assert after["messages"][-1]["sender"]["username"].split("_")[0] in {"fashion", "fitness", "food", "travel"}
    top = await first_thread(alice)
    assert top["thread_id"] == tid  # the reply is the latest activity


async def test_reply_validation(alice, bob):
    tid = (await first_thread(alice))["thread_id"]
    error(await alice.post(f"/inbox/threads/{tid}/reply", json={}), 400)
    malformed = await alice.post(f"/inbox/threads/{tid}/reply", content=b"{oops",
                                 headers={"content-type": "application/json"})
    error(malformed, 400)
    assert "content" in error(await alice.post(f"/inbox/threads/{tid}/reply", json={"content": "   "}), 422)["errors"]
    error(await alice.post(f"/inbox/threads/{tid}/reply", json={"content": "x" * 2001}), 422)
    error(await alice.post(f"/inbox/threads/{tid}/reply", json={"content": 42}), 422)
    data(await alice.post(f"/inbox/threads/{tid}/reply", json={"content": "é" * 2000}))
    bobs = (await first_thread(bob))["thread_id"]
    error(await alice.post(f"/inbox/threads/{bobs}/reply", json={"content": "hi"}), 404)
    error(await alice.post("/inbox/threads/nope/reply", json={"content": "hi"}), 404)


# -- archive / unarchive ------------------------------------------------------------------------
async def test_archive_and_unarchive(alice):
    tid = (await first_thread(alice))["thread_id"]
    body = (await alice.post(f"/inbox/threads/{tid}/archive")).json()
    assert body == {"status": "success", "data": {"thread_id": tid, "is_archived": True}, "message": "Thread archived."}
    assert tid not in {t["thread_id"] for t in await all_threads(alice)}
    assert tid in {t["thread_id"] for t in await all_threads(alice, archived=True)}
    assert data(await alice.get(f"/inbox/threads/{tid}"))["is_archived"] is True
    data(await alice.post(f"/inbox/threads/{tid}/archive"))  # again: same state, no error
    body = (await alice.post(f"/inbox/threads/{tid}/unarchive")).json()
    assert body["data"] == {"thread_id": tid, "is_archived": False} and body["message"] == "Thread unarchived."
    assert tid in {t["thread_id"] for t in await all_threads(alice)}


async def test_archive_errors(alice, bob):
    bobs = (await first_thread(bob))["thread_id"]
    for action in ("archive", "unarchive"):
        error(await alice.post(f"/inbox/threads/{bobs}/{action}"), 404, "Thread not found")
        error(await alice.post(f"/inbox/threads/9_dm_bm9wZQ/{action}"), 404, "Thread not found")
    assert data(await bob.get(f"/inbox/threads/{bobs}"))["is_archived"] is False


# -- tags -----------------------------------------------------------------------------------------
async def test_list_tags(alice, bob, admin):
    tags = data(await alice.get("/inbox/tags"))
    assert tags["total"] == 4 and [t["name"] for t in tags["tags"]] == ["VIP", "Lead", "Support", "Complaint"]
    assert set(tags["tags"][0]) == {"id", "name", "color"} and tags["tags"][0]["color"] == "#f59e0b"
    assert [t["name"] for t in data(await bob.get("/inbox/tags"))["tags"]] == ["VIP"]
    assert data(await admin.get("/inbox/tags"))["total"] == 5


async def test_create_tag(alice, bob):
    body = (await alice.post("/inbox/tags", json={"name": "Wholesale", "color": "#8B5CF6"}))
    created = data(body, 201)
    assert created == {"id": created["id"], "name": "Wholesale", "color": "#8b5cf6"}
    assert body.json()["message"] == "Tag created."
    assert data(await alice.post("/inbox/tags", json={"name": "Later"}), 201)["color"] == "#64748b"
    assert "Wholesale" in await tag_ids(alice)
    error(await alice.post("/inbox/tags", json={"name": "wholesale", "color": "#fff"}), 409, "Tag already exists")
    error(await alice.post("/inbox/tags", json={"name": "VIP", "color": "#fff"}), 409)
    # Names are unique per user: bob may have a "Lead" although alice has one.
    assert data(await bob.post("/inbox/tags", json={"name": "Lead", "color": "#abc"}), 201)["name"] == "Lead"


async def test_create_tag_validation(alice):
    error(await alice.post("/inbox/tags", json={"color": "#ffffff"}), 400)
    for bad in ("red", "#12345", "#ggg", "ffffff", "#1234567"):
        body = error(await alice.post("/inbox/tags", json={"name": "Bad color", "color": bad}), 422)
        assert "color" in body["errors"]
    assert "name" in error(await alice.post("/inbox/tags", json={"name": "  "}), 422)["errors"]
    assert "name" in error(await alice.post("/inbox/tags", json={"name": "x" * 51}), 422)["errors"]
    assert len(await tag_ids(alice)) == 4


async def test_delete_tag_detaches_it_everywhere(alice, bob):
    complaint = (await tag_ids(alice))["Complaint"]
    assert await all_threads(alice, tag=complaint)
    body = (await alice.delete(f"/inbox/tags/{complaint}")).json()
    assert body == {"status": "success", "data": {"id": complaint}, "message": "Tag deleted."}
    assert "Complaint" not in await tag_ids(alice)
    for thread in await all_threads(alice) + await all_threads(alice, archived=True):
        assert complaint not in {t["id"] for t in thread["tags"]}
    error(await alice.delete(f"/inbox/tags/{complaint}"), 404, "Tag not found")
    error(await alice.delete(f"/inbox/tags/{(await tag_ids(bob))['VIP']}"), 404, "Tag not found")
    error(await alice.delete(f"/inbox/tags/{2**70}"), 404)
    error(await alice.delete("/inbox/tags/vip"), 422)


# -- POST /inbox/threads/{id}/tags ---------------------------------------------------------------
async def test_add_and_remove_thread_tags(alice):
    ids = await tag_ids(alice)
    thread = await first_thread(alice)
    tid = thread["thread_id"]
    before = [t["id"] for t in thread["tags"]]
    body = (await alice.post(f"/inbox/threads/{tid}/tags", json={"add": [ids["Lead"], ids["VIP"]]})).json()
    assert body["message"] == "Tags updated." and body["data"]["thread_id"] == tid
    after = [t["id"] for t in body["data"]["tags"]]
    assert set(after) == set(before) | {ids["Lead"], ids["VIP"]} and len(after) == len(set(after))
    assert set(body["data"]["tags"][0]) == {"id", "name", "color"}
    out = data(await alice.post(f"/inbox/threads/{tid}/tags", json={"remove": [ids["Lead"]]}))
    assert ids["Lead"] not in {t["id"] for t in out["tags"]}
    assert data(await alice.get(f"/inbox/threads/{tid}"))["tags"] == out["tags"]
    # Removing a tag the thread does not carry changes nothing.
    assert data(await alice.post(f"/inbox/threads/{tid}/tags", json={"remove": [ids["Lead"]]}))["tags"] == out["tags"]


async def test_thread_tags_validation(alice, bob):
    ids = await tag_ids(alice)
    thread = await first_thread(alice)
    tid = thread["thread_id"]
    bobs_vip = (await tag_ids(bob))["VIP"]
    assert "add" in error(await alice.post(f"/inbox/threads/{tid}/tags", json={"add": [bobs_vip]}), 422)["errors"]
    assert "remove" in error(await alice.post(f"/inbox/threads/{tid}/tags", json={"remove": [999]}), 422)["errors"]
    error(await alice.post(f"/inbox/threads/{tid}/tags", json={"add": [ids["VIP"], 2**70]}), 422)
    error(await alice.post(f"/inbox/threads/{tid}/tags", json={}), 422)
    error(await alice.post(f"/inbox/threads/{tid}/tags", json={"add": [ids["VIP"]], "remove": [ids["VIP"]]}), 422)
    error(await alice.post(f"/inbox/threads/{tid}/tags", json={"add": ["VIP"]}), 422)
    error(await alice.post(f"/inbox/threads/{tid}/tags"), 400)
    assert data(await alice.get(f"/inbox/threads/{tid}"))["tags"] == thread["tags"]  # nothing changed
    bobs = (await first_thread(bob))["thread_id"]
    error(await alice.post(f"/inbox/threads/{bobs}/tags", json={"add": [ids["VIP"]]}), 404, "Thread not found")


# -- module gate ----------------------------------------------------------------------------------
async def test_module_gate(emu, control):
    user = (await control.post("/users", json={"username": "carol", "modules": ["direct-basic"]})).json()
    async with emu.http(None, headers={"Authorization": f"Bearer {user['key']}"}) as carol:
        error(await carol.get("/inbox/threads"), 403, "Module not enabled")
    await control.put("/modules", json={"installed": ["direct-basic"]})
    async with emu.http("alice") as alice:
        error(await alice.get("/inbox/tags"), 503)
