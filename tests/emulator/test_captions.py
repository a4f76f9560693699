"""Caption library against the in-process emulator.

Demo world: alice has captions 1-12 (1 "Summer sale", 2 "New drop", 3 "Motivation Monday", ...),
bob has 13-15.
"""

from __future__ import annotations

from tests.conftest import data, error

FIELDS = {"id", "title", "caption", "date"}


async def test_list_is_paginated_newest_first_and_scoped(alice, bob, admin):
    page = data(await alice.get("/captions", params={"per_page": 5, "page": 2}))
    assert (page["total"], page["page"], page["per_page"]) == (12, 2, 5)
    assert [c["id"] for c in page["items"]] == [7, 6, 5, 4, 3]
    assert set(page["items"][0]) == FIELDS
    assert data(await bob.get("/captions"))["total"] == 3
    assert data(await admin.get("/captions"))["total"] == 15


async def test_search_matches_title_or_body_case_insensitively(alice):
    by_title = data(await alice.get("/captions", params={"search": "MONDAY"}))
    assert [c["title"] for c in by_title["items"]] == ["Motivation Monday"]
    by_hashtag = data(await alice.get("/captions", params={"search": "#summersale"}))
    assert [c["title"] for c in by_hashtag["items"]] == ["Summer sale"]
    sale = data(await alice.get("/captions", params={"search": "sale", "per_page": 1}))
    assert sale["total"] == 2 and sale["items"][0]["title"] == "Flash sale"
    assert data(await alice.get("/captions", params={"search": "no such words"}))["total"] == 0
    assert data(await alice.get("/captions", params={"search": ""}))["total"] == 12


async def test_search_never_reaches_another_users_captions(bob):
    assert data(await bob.get("/captions", params={"search": "Summer sale"}))["total"] == 0


async def test_get_caption(alice):
    caption = data(await alice.get("/captions/1"))
    assert caption["title"] == "Summer sale" and "{Summer sale|Sun's out, sale's on}" in caption["caption"]
    assert set(caption) == FIELDS


async def test_get_unknown_or_foreign_caption_is_404(alice, admin):
    error(await alice.get("/captions/999"), 404, "Caption not found")
    error(await alice.get("/captions/13"), 404, "Caption not found")
    assert data(await admin.get("/captions/13"))["title"] == "Adopt don't shop"


async def test_create_caption(alice, control):
    now = (await control.get("/clock")).json()["now"]
    body = {"title": "  Cyber Monday ", "caption": "{Deals|Steals} all day #cybermonday"}
    response = await alice.post("/captions", json=body)
    created = data(response, 201)
    assert created["title"] == "Cyber Monday" and created["caption"] == "{Deals|Steals} all day #cybermonday"
    assert created["date"] == now and response.json()["message"] == "Caption created."
    assert data(await alice.get(f"/captions/{created['id']}")) == created
    assert data(await alice.get("/captions"))["items"][0] == created


async def test_create_caption_errors(alice):
    error(await alice.post("/captions", json={"caption": "body only"}), 400, "Missing required field: title")
    error(await alice.post("/captions", json={"title": "title only"}), 400, "Missing required field: caption")
    error(await alice.post("/captions", content=b"{oops", headers={"content-type": "application/json"}), 400)
    assert "title" in error(await alice.post("/captions", json={"title": "   ", "caption": "x"}), 422)["errors"]
    assert "caption" in error(await alice.post("/captions", json={"title": "t", "caption": ""}), 422)["errors"]
    too_long = {"title": "t", "caption": "x" * 2201}
    assert "caption" in error(await alice.post("/captions", json=too_long), 422)["errors"]
    long_title = {"title": "t" * 256, "caption": "x"}
    assert "title" in error(await alice.post("/captions", json=long_title), 422)["errors"]


async def test_duplicate_titles_are_allowed(alice):
    """No 409: the library stores rows by id, so a second "Summer sale" is a second caption."""
    again = data(await alice.post("/captions", json={"title": "Summer sale", "caption": "Round two ☀️"}), 201)
    assert again["id"] != 1
    found = data(await alice.get("/captions", params={"search": "Summer sale"}))
    assert sorted(c["id"] for c in found["items"]) == [1, again["id"]]
    assert data(await alice.get("/captions/1"))["caption"].startswith("{Summer sale")


async def test_patch_caption(alice):
    renamed = data(await alice.patch("/captions/2", json={"title": "New drop (v2)"}))
    assert renamed["title"] == "New drop (v2)" and renamed["caption"].startswith("{New drop|")
    rewritten = await alice.patch("/captions/2", json={"caption": "Out now 🔥 #newdrop"})
    assert rewritten.json()["message"] == "Caption updated."
    assert data(rewritten)["caption"] == "Out now 🔥 #newdrop" and data(rewritten)["title"] == "New drop (v2)"
    both = data(await alice.patch("/captions/2", json={"title": "Drop", "caption": "Live"}))
    assert (both["title"], both["caption"]) == ("Drop", "Live")
    assert data(await alice.get("/captions/2")) == both


async def test_patch_caption_errors(alice):
    error(await alice.patch("/captions/2", json={}), 422)
    error(await alice.patch("/captions/2", json={"title": None}), 422)
    assert "id" in error(await alice.patch("/captions/2", json={"title": "x", "id": 5}), 422)["errors"]
    assert "title" in error(await alice.patch("/captions/2", json={"title": " "}), 422)["errors"]
    error(await alice.patch("/captions/999", json={"title": "x"}), 404, "Caption not found")
    error(await alice.patch("/captions/13", json={"title": "x"}), 404, "Caption not found")


async def test_delete_caption(alice, bob):
    deleted = await alice.delete("/captions/3")
    assert data(deleted) == {"id": 3} and deleted.json()["message"] == "Caption deleted."
    error(await alice.get("/captions/3"), 404)
    error(await alice.delete("/captions/3"), 404, "Caption not found")
    assert data(await alice.get("/captions"))["total"] == 11
    error(await alice.delete("/captions/13"), 404, "Caption not found")
    assert data(await bob.get("/captions/13"))["id"] == 13


async def test_captions_need_a_key(emu):
    async with emu.http(None) as anon:
        error(await anon.get("/captions"), 401, "Unauthorized")
