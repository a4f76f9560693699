"""CaptionsResource against the in-process emulator."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import NotFound, ValidationFailed
from orchestrator.api.resources.captions import Caption
from tests.api.conftest import clear_faults, lose_responses, request_count, stored

ALICE_CAPTIONS = 12  # seeded by the demo world
BOB_CAPTION_ID = 13  # the first of bob's three, seeded after alice's twelve


async def test_list_reads_every_caption_as_models(client: SharingtoolsClient) -> None:
    captions = [c async for c in client.captions.list()]
    assert len(captions) == ALICE_CAPTIONS
    assert all(isinstance(c, Caption) and c.title and c.caption and c.date for c in captions)
    assert [c.id for c in captions] == sorted((c.id for c in captions), reverse=True)  # newest first


async def test_list_reads_all_pages_at_100_per_page(
    client: SharingtoolsClient, alice: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    for i in range(150):
        (await alice.post("captions", json={"title": f"bulk {i}", "caption": f"text {i}"})).raise_for_status()
    await control.post("/requests/reset")
    captions = [c async for c in client.captions.list()]
    assert len(captions) == ALICE_CAPTIONS + 150
    assert len({c.id for c in captions}) == len(captions)
    assert await request_count(control, "GET", "/captions") == 2  # 162 rows at 100 a page


async def test_list_and_page_filter_by_search(client: SharingtoolsClient) -> None:
    hits = [c async for c in client.captions.list(search="sale")]
    assert {c.title for c in hits} == {"Summer sale", "Flash sale"}
    page = await client.captions.page(1, 5, search="#fitness")
    assert page.total == 2 and page.page == 1 and page.per_page == 5
    assert {c.title for c in page.items} == {"Motivation Monday", "Workout tip"}


async def test_page_reads_one_page(client: SharingtoolsClient) -> None:
    page = await client.captions.page(2, 5)
    assert (page.total, page.page, page.per_page, len(page.items)) == (ALICE_CAPTIONS, 2, 5, 5)
    assert all(isinstance(c, Caption) for c in page.items)


async def test_get_own_and_not_another_users(client: SharingtoolsClient) -> None:
    caption = await client.captions.get(1)
    assert (caption.id, caption.title) == (1, "Summer sale")
    with pytest.raises(NotFound):
        await client.captions.get(BOB_CAPTION_ID)


async def test_create_update_delete(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    made = await client.captions.create("Launch", "We are live 🚀 #launch")
    assert isinstance(made, Caption) and made.title == "Launch" and made.date
    changed = await client.captions.update(made.id, caption="We are live! #launch")
    assert (changed.title, changed.caption) == ("Launch", "We are live! #launch")
    renamed = await client.captions.update(made.id, title="Launch day")
    assert renamed.title == "Launch day"
    assert (await client.captions.delete(made.id)) == {"id": made.id}
    with pytest.raises(NotFound):
        await client.captions.get(made.id)
    assert not [d for d in await stored(control, "captions") if d["id"] == made.id]


async def test_validation_errors_carry_fields(client: SharingtoolsClient) -> None:
    with pytest.raises(ValidationFailed) as info:
        await client.captions.create("  ", "text")
    assert "title" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        await client.captions.update(1)
    assert info.value.errors


async def test_writes_to_another_users_caption_are_not_found(client: SharingtoolsClient) -> None:
    with pytest.raises(NotFound):
        await client.captions.update(BOB_CAPTION_ID, title="mine now")
    with pytest.raises(NotFound):
        await client.captions.delete(BOB_CAPTION_ID)


async def test_readback_finds_a_caption_made_elsewhere(
    client: SharingtoolsClient, alice: httpx.AsyncClient
) -> None:
    raw = await alice.post("captions", json={"title": "Lost one", "caption": "Made but unanswered #x"})
    made_id = raw.json()["data"]["id"]
    found = await client.captions.find_created("Lost one", "Made but unanswered #x")
    assert found is not None and found["id"] == made_id
    assert await client.captions.find_created("Lost one", "Another text") is None
    assert await client.captions.find_created("Never made", "Made but unanswered #x") is None


async def test_create_whose_answer_is_always_lost_is_found_not_repeated(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    await lose_responses(control, seed=1, rate=1.0)
    made = await client.captions.create("Exactly once", "one copy only")
    await clear_faults(control)
    copies = [d for d in await stored(control, "captions") if d["title"] == "Exactly once"]
    assert [d["id"] for d in copies] == [made.id]
    assert client.transport.stats.readbacks == 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_create_under_lost_answers_makes_exactly_one(
    client: SharingtoolsClient, control: httpx.AsyncClient, seed: int
) -> None:
    await lose_responses(control, seed=seed, rate=0.5)
    made = await client.captions.create(f"Seed {seed}", "one copy only")
    await clear_faults(control)
    copies = [d for d in await stored(control, "captions") if d["title"] == f"Seed {seed}"]
    assert [d["id"] for d in copies] == [made.id]


async def test_create_resends_when_the_readback_finds_nothing(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    # Dropped requests never ran: the readback finds nothing and the create is sent again.
    await lose_responses(control, seed=7, rate=0.3, drop=0.5)
    made = [await client.captions.create(f"Mixed {i}", "one copy each") for i in range(6)]
    await clear_faults(control)
    titles = [d["title"] for d in await stored(control, "captions") if d["title"].startswith("Mixed ")]
    assert sorted(titles) == sorted(c.title for c in made) == [f"Mixed {i}" for i in range(6)]
    stats = client.transport.stats
    resent = await request_count(control, "POST", "/captions") - 6
    assert stats.readbacks >= 1 and resent >= 1, stats.snapshot()
