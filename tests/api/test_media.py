"""MediaResource against the in-process emulator."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import NotFound, ValidationFailed
from orchestrator.api.resources.media import MediaFile
from tests.api.conftest import clear_faults, lose_responses, request_count, stored

ALICE_FILES = 15  # seeded by the demo world
BOB_FILE_ID = 16  # the first of bob's four, seeded after alice's fifteen
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 1000


async def test_list_reads_every_file_as_models(client: SharingtoolsClient) -> None:
    files = [f async for f in client.media.list()]
    assert len(files) == ALICE_FILES
    assert all(isinstance(f, MediaFile) and f.url and f.filesize for f in files)
    assert {f.type for f in files} == {"image", "video"}


async def test_list_reads_all_pages_at_100_per_page(
    client: SharingtoolsClient, alice: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    for i in range(120):
        (await alice.post("media", files={"file": (f"f{i}.png", b"png", "image/png")})).raise_for_status()
    await control.post("/requests/reset")
    files = [f async for f in client.media.list()]
    assert len({f.id for f in files}) == ALICE_FILES + 120
    assert await request_count(control, "GET", "/media") == 2  # 135 files at 100 a page


async def test_page_reads_one_page(client: SharingtoolsClient) -> None:
    page = await client.media.page(1, 10)
    assert (page.total, page.page, page.per_page, len(page.items)) == (ALICE_FILES, 1, 10, 10)


async def test_get_own_and_not_another_users(client: SharingtoolsClient) -> None:
    first = await client.media.get(1)
    assert first.id == 1 and first.name == "summer-lookbook-01.jpg" and first.type == "image"
    with pytest.raises(NotFound):
        await client.media.get(BOB_FILE_ID)
    with pytest.raises(NotFound):
        await client.media.delete(BOB_FILE_ID)


async def test_upload_is_multipart_and_returns_the_file(client: SharingtoolsClient) -> None:
    made = await client.media.upload("photo.jpg", JPEG)
    assert isinstance(made, MediaFile)
    assert (made.name, made.type, made.filesize, made.extension) == ("photo.jpg", "image", len(JPEG), "jpg")
    assert made.url and made.url.endswith(".jpg")
    assert (await client.media.get(made.id)).filesize == len(JPEG)


async def test_upload_path_uses_the_files_name(client: SharingtoolsClient, tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"1" * 500)
    made = await client.media.upload_path(path)
    assert (made.name, made.type, made.filesize) == ("clip.mp4", "video", path.stat().st_size)


async def test_upload_of_a_disallowed_type_fails_validation(client: SharingtoolsClient) -> None:
    with pytest.raises(ValidationFailed) as info:
        await client.media.upload("notes.txt", b"hello")
    assert "file" in info.value.errors
    with pytest.raises(ValidationFailed):
        await client.media.upload("empty.jpg", b"")


async def test_delete(client: SharingtoolsClient) -> None:
    made = await client.media.upload("gone.png", b"png bytes")
    assert (await client.media.delete(made.id)) == {"id": made.id}
    with pytest.raises(NotFound):
        await client.media.get(made.id)


async def test_readback_finds_an_upload_made_elsewhere(
    client: SharingtoolsClient, alice: httpx.AsyncClient
) -> None:
    raw = await alice.post("media", files={"file": ("lost.jpg", JPEG, "image/jpeg")})
    made_id = raw.json()["data"]["id"]
    found = await client.media.find_uploaded("lost.jpg", len(JPEG))
    assert found is not None and found["id"] == made_id
    assert await client.media.find_uploaded("C:\\fakepath\\lost.jpg", len(JPEG)) == found
    assert await client.media.find_uploaded("lost.jpg", len(JPEG) + 1) is None
    assert await client.media.find_uploaded("other.jpg", len(JPEG)) is None


async def test_upload_whose_answer_is_always_lost_is_found_not_repeated(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    await lose_responses(control, seed=1, rate=1.0)
    made = await client.media.upload("once.jpg", JPEG)
    await clear_faults(control)
    copies = [d for d in await stored(control, "media") if d["name"] == "once.jpg"]
    assert [d["id"] for d in copies] == [made.id]
    assert client.transport.stats.readbacks == 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_upload_under_lost_answers_makes_exactly_one(
    client: SharingtoolsClient, control: httpx.AsyncClient, seed: int
) -> None:
    await lose_responses(control, seed=seed, rate=0.5)
    made = await client.media.upload(f"seed-{seed}.png", b"png bytes")
    await clear_faults(control)
    copies = [d for d in await stored(control, "media") if d["name"] == f"seed-{seed}.png"]
    assert [d["id"] for d in copies] == [made.id]
