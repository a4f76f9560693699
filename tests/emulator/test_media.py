"""Media Upload against the in-process emulator.

Demo world: alice has files 1-15 (videos: 5, 6, 7, 12), bob has 16-19. Plan limits are
optional fields of the user document (``storage_file_mb``, ``storage_total_mb``,
``video_processing``), set here on the emulator's state as an operator would.
"""

from __future__ import annotations

import pytest

from orchestrator.emulator.modules.media import models
from tests.conftest import data, error

FIELDS = {"id", "name", "filename", "extension", "type", "filesize", "url", "date"}
MB = 1024 * 1024


def set_plan(emu, username: str, **limits) -> int:
    """Change a user's plan storage settings; returns the user's id."""
    user = emu.state.users.find_one(key=username)
    emu.state.users.patch(user["id"], limits)
    return user["id"]


def upload(client, name: str, content: bytes = b"\xff\xd8\xff\xe0 fake jpeg"):
    return client.post("/media", files={"file": (name, content)})


async def test_list_is_paginated_newest_first_and_scoped(alice, bob, admin):
    page = data(await alice.get("/media", params={"per_page": 4}))
    assert (page["total"], page["page"], page["per_page"]) == (15, 1, 4)
    assert [f["id"] for f in page["items"]] == [15, 14, 13, 12]
    first = page["items"][0]
    assert set(first) == FIELDS and "path" not in first and "user_id" not in first
    assert data(await bob.get("/media"))["total"] == 4
    assert data(await admin.get("/media"))["total"] == 19


async def test_get_media(alice):
    video = data(await alice.get("/media/5"))
    assert (video["name"], video["type"], video["extension"]) == ("new-drop-teaser.mp4", "video", "mp4")
    assert video["filesize"] > 0
    assert video["url"] == f"http://emulator.invalid/uploads/1/{video['filename']}"


async def test_get_unknown_or_foreign_media_is_404(alice, admin):
    error(await alice.get("/media/999"), 404, "Media not found")
    error(await alice.get("/media/16"), 404, "Media not found")
    assert data(await admin.get("/media/16"))["name"] == "rescue-pup-milo.jpg"


async def test_upload_image(emu, alice, control):
    now = (await control.get("/clock")).json()["now"]
    response = await upload(alice, "Spring Look 01.JPG", b"x" * 12345)
    file = data(response, 201)
    assert response.json()["message"] == "File uploaded."
    assert set(file) == FIELDS
    assert (file["name"], file["extension"], file["type"]) == ("Spring Look 01.JPG", "jpg", "image")
    assert file["filesize"] == 12345
    assert file["filename"] == f"{file['id']}-spring-look-01.jpg" and file["date"] == now
    user_id = emu.state.users.find_one(key="alice")["id"]
    assert file["url"] == f"http://emulator.invalid/uploads/{user_id}/{file['filename']}"
    assert data(await alice.get(f"/media/{file['id']}")) == file
    assert data(await alice.get("/media"))["items"][0] == file


@pytest.mark.parametrize(
    ("name", "kind"),
    [("clip.mp4", "video"), ("banner.gif", "image"), ("shot.png", "image"), ("shot.jpeg", "image")],
)
async def test_upload_allowed_types(alice, name, kind):
    assert data(await upload(alice, name), 201)["type"] == kind


async def test_upload_keeps_only_the_base_name_and_never_the_bytes(alice, control):
    file = data(await upload(alice, "C:\\fakepath\\secret-plan.png", b"TOP-SECRET-BYTES"), 201)
    assert file["name"] == "secret-plan.png"
    raw = (await control.get("/state/media")).text
    assert "TOP-SECRET-BYTES" not in raw


async def test_missing_file_is_400(alice):
    error(await alice.post("/media", files={"upload": ("a.jpg", b"x")}), 400, "Missing required field: file")
    error(await alice.post("/media", json={"file": "a.jpg"}), 400, "Missing required field: file")
    error(await alice.post("/media"), 400)


async def test_text_instead_of_a_file_is_422(alice):
    assert "file" in error(await alice.post("/media", data={"file": "photo.jpg"}), 422)["errors"]


@pytest.mark.parametrize("name", ["virus.exe", "clip.mov", "clip.m4v", "clip.mpg", "notes.txt", "noextension"])
async def test_disallowed_type_is_422(alice, name):
    body = error(await upload(alice, name), 422)
    assert body["errors"]["file"][0].startswith("File type not allowed")


async def test_empty_file_is_422(alice):
    assert error(await upload(alice, "blank.jpg", b""), 422)["errors"]["file"] == ["The uploaded file is empty"]


async def test_video_processing_allows_mov_m4v_mpg_for_that_user_only(emu, alice, bob):
    set_plan(emu, "alice", video_processing=True)
    for name in ("clip.mov", "clip.M4V", "clip.mpg"):
        assert data(await upload(alice, name), 201)["type"] == "video"
    error(await upload(bob, "clip.mov"), 422)


async def test_file_size_limit_follows_the_plan(emu, alice):
    assert models.file_limit_bytes({}) == 50 * MB  # the default plan
    set_plan(emu, "alice", storage_file_mb=1)
    assert data(await upload(alice, "fits.jpg", b"x" * MB), 201)["filesize"] == MB
    body = error(await upload(alice, "too-big.jpg", b"x" * (MB + 1)), 422)
    assert body["errors"]["file"] == ["File exceeds the 1 MB limit of your plan"]


async def test_total_storage_follows_the_plan(emu, alice, bob):
    used = sum(f["filesize"] for f in data(await alice.get("/media", params={"per_page": 100}))["items"])
    set_plan(emu, "alice", storage_total_mb=(used + 1000) / MB)
    data(await upload(alice, "small.jpg", b"x" * 1000), 201)
    body = error(await upload(alice, "one-more.jpg", b"x"), 422)
    assert body["errors"]["file"][0].startswith("Not enough storage")
    data(await upload(bob, "bob-is-not-limited.jpg"), 201)


async def test_delete_media(alice, bob):
    deleted = await alice.delete("/media/14")
    assert data(deleted) == {"id": 14} and deleted.json()["message"] == "File deleted."
    error(await alice.get("/media/14"), 404, "Media not found")
    error(await alice.delete("/media/14"), 404, "Media not found")
    assert data(await alice.get("/media"))["total"] == 14
    error(await alice.delete("/media/16"), 404, "Media not found")
    assert data(await bob.get("/media/16"))["id"] == 16


async def test_media_needs_a_key(emu):
    async with emu.http(None) as anon:
        error(await anon.post("/media", files={"file": ("a.jpg", b"x")}), 401, "Unauthorized")
