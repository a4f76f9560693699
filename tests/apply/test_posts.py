"""The posts kind end to end, over real HTTP to the in-process emulator: a content calendar is
created once per account at staggered times with one upload, converges, follows caption
changes, is taken back when the playbook drops it, and is never copied twice, with or without
the state database. Published copies are never touched; failed ones are per-account problems.

The emulator's clock is fixed (the campaign is nine days ahead of it) and the posts kind is
given the same clock as its "now", so the engine publishes exactly when a test moves time.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from orchestrator import playbook
from orchestrator.apply.run import ApplyError, ApplyOptions, apply
from orchestrator.contract import Kind
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.importer import ImportOptions, import_playbook
from orchestrator.kinds import KindRegistry, ProcessMemory
from orchestrator.kinds.posts import PostsKind
from orchestrator.api.resources.posts import read_caption
from orchestrator.planning.planner import Planned, build_plan
from orchestrator.render import render_text
from orchestrator.state.db import open_readonly
from tests.harness.stores import TEST_URL, sqlite_store
from tests.harness import PLAYBOOKS, client_for, count, executor_for, failures_of, stored
from tests.conftest import world

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AT = datetime(2026, 12, 10, 17, 0, tzinfo=UTC)  # 18:00 in Paris
TEN = [1, 2, 3, 4, 5, 6, 7, 8, 10, 11]  # alice's accounts that are logged in (9 needs a new login)
JPEG = PLAYBOOKS / "media" / "winter-teaser.jpg"


def calendar(caption: str = "{New|Fresh} drop is live ❄️", *, posts: bool = True, accounts: list[int] = TEN,
             extra: str = "", policy: str = "") -> str:
    listed = """
      - name: winter-teaser
        type: photo
        media: [media/teaser.jpg]
        caption: "{caption}"
        at: 2026-12-10T18:00
        timezone: Europe/Paris
        stagger: 1h
""".replace("{caption}", caption) if posts else " []\n"
    return f"""
version: 1
groups:
  ten: {{accounts: {accounts}}}
{policy}
entries:
  - name: Winter drop
    groups: ten
    posts:{listed}{extra}"""


@dataclass
class Calendar:
    """A playbook directory with its media, the emulator, and a state database."""

    emu: LocalEmulator
    control: httpx.AsyncClient
    directory: Path

    @property
    def state_db(self) -> Path:
        return self.directory / "state.db"

    def kinds(self) -> KindRegistry:
        """The kinds, with the posts kind on the emulator's clock."""
        return KindRegistry.default().with_handler(PostsKind(now=self.emu.state.clock.now))

    def write(self, text: str) -> playbook.Playbook:
        (self.directory / "playbook.yaml").write_text(text, encoding="utf-8")
        return playbook.load([str(self.directory / "playbook.yaml")])

    async def plan(self, book: playbook.Playbook, *, remembering: bool = True) -> Planned:
        kinds = self.kinds()
        if remembering:  # as `orchestrator plan --state-db` reads it: read only, once
            store = await open_readonly(self.state_db, TEST_URL)
            try:
                kinds = kinds.remembering(ProcessMemory(*await store.remembered()) if store else ProcessMemory())
            finally:
                if store is not None:
                    await store.close()
        async with client_for(self.emu) as client:
            return await build_plan(client, book, kinds=kinds)

    async def apply(self, book: playbook.Playbook, options: ApplyOptions | None = None) -> object:
        history = sqlite_store(self.state_db)
        try:
            async with client_for(self.emu) as client:
                outcome = await apply(client, book, options or ApplyOptions(), history=history,
                                      executor=executor_for(client), kinds=self.kinds())
        finally:
            await history.close()
        assert outcome.exit_code == 0, failures_of(outcome)
        return outcome

    async def ours(self) -> list[dict]:
        """The posts carrying a playbook's mark, oldest first."""
        return sorted((p for p in await stored(self.control, "posts") if read_caption(p["caption"])[1]),
                      key=lambda p: p["id"])

    async def tick(self, seconds: float) -> None:
        (await self.control.post("/clock/advance", json={"seconds": seconds, "ticks": 2})).raise_for_status()


@pytest.fixture
async def cal(tmp_path: Path) -> AsyncIterator[Calendar]:
    (tmp_path / "media").mkdir()
    shutil.copy(JPEG, tmp_path / "media" / "teaser.jpg")
    emu = world(NOW)
    async with emu.control() as control:
        yield Calendar(emu, control, tmp_path)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


async def test_a_calendar_over_ten_accounts_converges_follows_changes_and_is_taken_back(cal: Calendar) -> None:
    book = cal.write(calendar())
    first = await cal.plan(book)
    assert first.ok and [c.action for c in first.plan.changes] == ["create"] * 10

    await cal.apply(book)
    posts = await cal.ours()
    assert sorted(p["account_id"] for p in posts) == TEN and {p["status"] for p in posts} == {"scheduled"}
    times = [p["schedule_date"] for p in posts]
    assert len(set(times)) == 10 and all(stamp(AT) <= t < stamp(AT + timedelta(hours=1)) for t in times)
    assert await count(cal.control, "POST", "/media") == 1  # one upload, reused by the ten
    assert len({p["media_ids"] for p in posts}) == 1
    assert {read_caption(p["caption"])[0] for p in posts} <= {"New drop is live ❄️", "Fresh drop is live ❄️"}

    again = await cal.plan(book)
    assert again.ok and again.plan.empty, render_text(again.plan)

    book = cal.write(calendar("Winter drop: live now ❄️"))
    changed = await cal.plan(book)
    assert {(c.action, c.path) for c in changed.plan.changes} == {("update", "posts[winter-teaser].caption")}
    assert len(changed.plan.changes) == 10
    await cal.apply(book)
    updated = await cal.ours()
    assert [p["id"] for p in updated] == [p["id"] for p in posts]  # changed in place, not made again
    assert {read_caption(p["caption"])[0] for p in updated} == {"Winter drop: live now ❄️"}
    assert [p["schedule_date"] for p in updated] == times  # each account kept its slot

    cal.state_db.unlink()  # the state database is lost: the marks still say which post is which
    lost = await cal.plan(book)
    assert lost.ok and lost.plan.empty, render_text(lost.plan)

    book = cal.write(calendar(posts=False))  # `posts: []`: the playbook no longer lists it
    gone = await cal.plan(book)
    assert [c.action for c in gone.plan.changes] == ["delete"] * 10
    await cal.apply(book)  # ten deletions: within the default max_deletions of 10
    assert await cal.ours() == []
    assert (await cal.plan(book)).plan.empty


async def test_an_account_joining_keeps_everyone_elses_slot(cal: Calendar) -> None:
    await cal.apply(cal.write(calendar(accounts=TEN[:5])))
    before = {p["account_id"]: p["schedule_date"] for p in await cal.ours()}
    book = cal.write(calendar(accounts=TEN))
    plan = await cal.plan(book)
    assert sorted(c.account_id for c in plan.plan.changes) == TEN[5:]  # only the newcomers get a copy
    await cal.apply(book)
    after = {p["account_id"]: p["schedule_date"] for p in await cal.ours()}
    assert {a: after[a] for a in before} == before


async def test_without_the_state_database_nothing_is_made_twice_even_when_everything_changed(cal: Calendar) -> None:
    await cal.apply(cal.write(calendar()))
    ids = [p["id"] for p in await cal.ours()]
    cal.state_db.unlink()
    # New caption, new time and new media at once: only the mark is left to recognise the posts by.
    (cal.directory / "media" / "other.jpg").write_bytes(JPEG.read_bytes() + b"\0")
    text = calendar("A whole new caption").replace("2026-12-10T18:00", "2026-12-11T08:00").replace(
        "media/teaser.jpg", "media/other.jpg")
    book = cal.write(text)
    plan = await cal.plan(book)
    assert {c.action for c in plan.plan.changes} == {"update"}, render_text(plan.plan)
    assert {c.path.split(".")[-1] for c in plan.plan.changes} == {"caption", "media", "time"}
    await cal.apply(book)
    posts = await cal.ours()
    assert [p["id"] for p in posts] == ids
    assert all(p["schedule_date"].startswith("2026-12-11 0") for p in posts)
    assert (await cal.plan(book)).plan.empty


async def test_a_duplicate_copy_is_deleted_and_the_oldest_kept(cal: Calendar) -> None:
    book = cal.write(calendar(accounts=[1]))
    await cal.apply(book)
    (post,) = await cal.ours()
    async with cal.emu.http("alice") as alice:  # the same create, sent again by someone else
        made = await alice.post("/posts", json={k: post[k] for k in ("account_id", "caption", "type", "media_ids",
                                                                      "is_scheduled", "schedule_date")})
        assert made.status_code == 201
    plan = await cal.plan(book)
    (delete,) = plan.plan.changes
    assert delete.action == "delete" and delete.ref["id"] == made.json()["data"]["id"]
    await cal.apply(book)
    assert [p["id"] for p in await cal.ours()] == [post["id"]]


async def test_a_published_copy_is_never_touched_and_a_change_to_it_is_blocked(cal: Calendar) -> None:
    await cal.apply(cal.write(calendar()))
    await cal.tick((AT - NOW).total_seconds() + 3600)  # past every slot: the engine publishes them
    assert {p["status"] for p in await cal.ours()} == {"published"}
    assert (await cal.plan(cal.write(calendar()))).plan.empty

    book = cal.write(calendar("A caption too late"))
    plan = await cal.plan(book)
    assert not plan.plan.changes
    assert {b.reason for b in plan.plan.blocked} == {"published"} and len(plan.plan.blocked) == 10
    assert "is published: a published post is never changed" in plan.plan.blocked[0].message
    await cal.control.post("/requests/reset")
    await cal.apply(book)  # nothing to do: blocked changes are not attempted
    assert await count(cal.control, "PATCH", "/posts/{id}") == 0

    gone = await cal.plan(cal.write(calendar(posts=False)))
    assert gone.plan.empty  # published copies stay when the playbook drops the post


async def test_a_copy_that_failed_is_the_accounts_problem_with_the_servers_reason(cal: Calendar) -> None:
    book = cal.write(calendar(accounts=[8, 9]))  # fitness_core (9) needs a new Instagram login
    await cal.apply(book)  # scheduling works; publishing will not
    await cal.tick((AT - NOW).total_seconds() + 3600)
    assert {p["account_id"]: p["status"] for p in await cal.ours()} == {8: "published", 9: "failed"}
    planned = await cal.plan(book)
    assert planned.plan.empty
    (problem,) = planned.problems
    assert problem.account_id == 9 and "post `winter-teaser` failed: Login required" in problem.message

    # A new time in the future retries it: the failed copy is rescheduled, not made again.
    later = cal.write(calendar(accounts=[8, 9]).replace("2026-12-10T18:00", "2026-12-20T18:00"))
    retry = await cal.plan(later)
    assert {(c.account_id, c.path) for c in retry.plan.changes} == {(9, "posts[winter-teaser].time")}
    assert [b.account_id for b in retry.plan.blocked] == [8]  # the published copy stays as it is


async def test_a_campaign_over_the_publishing_quota_is_refused_naming_the_accounts(cal: Calendar) -> None:
    extra = """
      - name: winter-reminder
        media: [media/teaser.jpg]
        at: 2026-12-10T20:00
        timezone: Europe/Paris
"""
    book = cal.write(calendar(accounts=[1, 2], extra=extra, policy="policy: {max_posts_per_day: 1}"))
    planned = await cal.plan(book)
    assert planned.diagnostics and not planned.valid
    texts = [str(d) for d in planned.diagnostics]
    assert any("would exceed the publishing quota of 1 posts in 24 hours on fashion_luxe, fashion_nova" in t
               for t in texts), texts
    assert all(t.startswith(str(cal.directory / "playbook.yaml") + ":") and "; " in t for t in texts)
    history = sqlite_store(cal.state_db)
    try:
        async with client_for(cal.emu) as client:
            with pytest.raises(ApplyError):
                await apply(client, book, ApplyOptions(), history=history, executor=executor_for(client),
                            kinds=cal.kinds())
    finally:
        await history.close()
    assert await cal.ours() == []

    roomy = cal.write(calendar(accounts=[1, 2], extra=extra, policy="policy: {max_posts_per_day: 2}"))
    assert (await cal.plan(roomy)).valid


async def test_a_file_is_uploaded_once_across_runs_and_found_again_without_the_state_database(cal: Calendar) -> None:
    await cal.apply(cal.write(calendar(accounts=[1])))
    extra = """
      - name: winter-reminder
        media: [media/teaser.jpg]
        at: 2026-12-11T20:00
"""
    await cal.apply(cal.write(calendar(accounts=[1], extra=extra)))  # the state database knows the upload
    cal.state_db.unlink()
    more = extra + extra.replace("winter-reminder", "winter-again").replace("12-11", "12-12")
    await cal.apply(cal.write(calendar(accounts=[1], extra=more)))  # found by the hash its name carries
    assert await count(cal.control, "POST", "/media") == 1
    assert len({p["media_ids"] for p in await cal.ours()}) == 1 and len(await cal.ours()) == 3


async def test_a_post_import_found_is_recognised_by_its_content(cal: Calendar) -> None:
    async with cal.emu.http("alice") as alice:
        media = (await alice.get("/media")).json()["data"]["items"][0]
        made = await alice.post("/posts", json={"account_id": 1, "caption": "Made in the panel", "type": "photo",
                                                "media_ids": str(media["id"]), "is_scheduled": True,
                                                "schedule_date": "2026-12-05 10:00:00"})
        assert made.status_code == 201
    book = cal.write(f"""
version: 1
groups: {{one: {{accounts: [1]}}}}
entries:
  - groups: one
    posts:
      - name: panel-post
        type: photo
        media: [{{id: {media["id"]}}}]
        caption: Made in the panel
        at: 2026-12-05T10:00
""")
    planned = await cal.plan(book)
    assert planned.ok and planned.plan.empty, render_text(planned.plan)


async def test_import_writes_the_scheduled_posts_which_the_demo_world_then_publishes_or_fails(tmp_path: Path) -> None:
    emu = world()
    kinds = KindRegistry.default().with_handler(PostsKind(now=emu.state.clock.now))
    path = tmp_path / "imported.yaml"
    async with client_for(emu) as client, emu.control() as control:
        imported = await import_playbook(client, ImportOptions(kinds=frozenset({Kind.POSTS})))
        path.write_text(imported.text, encoding="utf-8")
        assert "media: [id: " in imported.text and "Flash sale: 24 hours only" in imported.text
        book = playbook.load([str(path)])
        planned = await build_plan(client, book, kinds=kinds)
        assert planned.ok and planned.plan.empty, render_text(planned.plan)

        # A week on, the engine published them, but for the account that needs a new login.
        (await control.post("/clock/advance", json={"seconds": 8 * 86400, "ticks": 2})).raise_for_status()
        planned = await build_plan(client, book, kinds=kinds)
        assert planned.plan.empty
        (failed,) = planned.problems
        assert failed.username == "fitness_lift" and "failed: Login required" in failed.message

        # Published posts are never changed: a caption edited in the playbook is blocked.
        path.write_text(imported.text.replace("Use code FLASH20.", "Use code FLASH30."), encoding="utf-8")
        edited = await build_plan(client, playbook.load([str(path)]), kinds=kinds)
        assert not edited.plan.changes
        (blocked,) = edited.plan.blocked
        assert blocked.reason == "published" and blocked.change is not None
        assert blocked.change.path.endswith(".caption") and blocked.username == "fashion_nova"


@pytest.mark.parametrize("faults", [
    {"lost_response_rate": 0.3, "path_regex": "/posts$", "seed": 3},  # some creates
    {"lost_response_rate": 1.0, "path_regex": "/media$", "times": 1},  # the one upload
], ids=["creates", "upload"])
async def test_lost_answers_make_neither_a_second_post_nor_a_second_upload(cal: Calendar, faults: dict) -> None:
    """Creates and uploads that take effect and lose their answer are found again (the client's
    read-back, the kind's mark), never sent twice."""
    book = cal.write(calendar())
    (await cal.control.put("/faults", json={**faults, "methods": ["POST"]})).raise_for_status()
    await cal.apply(book)
    (await cal.control.delete("/faults")).raise_for_status()
    lost = [r for r in (await cal.control.get("/requests")).json()["requests"] if r["injected"]]
    assert lost and {r["route"] for r in lost} <= {"/posts", "/media"}, lost
    posts = await cal.ours()
    assert sorted(p["account_id"] for p in posts) == TEN
    async with cal.emu.http("alice") as alice:
        files = (await alice.get("/media", params={"per_page": 100})).json()["data"]["items"]
    assert sum(1 for f in files if f["name"].startswith("teaser-")) == 1
    assert (await cal.plan(book)).plan.empty


async def test_a_saved_plan_applies_as_planned(cal: Calendar, tmp_path: Path) -> None:
    from orchestrator.apply.saved_plan import load_saved_plan
    from orchestrator.render import write_json

    book = cal.write(calendar(accounts=TEN[:3]))
    planned = await cal.plan(book)
    saved = tmp_path / "plan.json"
    with saved.open("w", encoding="utf-8") as out:
        write_json(planned.plan, out)
    await cal.apply(book, ApplyOptions(saved_plan=load_saved_plan(saved)))
    assert sorted(p["account_id"] for p in await cal.ours()) == TEN[:3]
    assert (await cal.plan(book)).plan.empty
