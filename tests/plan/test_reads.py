"""Plan reads only what the playbooks manage, lists 100 a page and once each: every request a
plan sends is recorded at the transport and checked against what the playbooks name."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import pytest

from orchestrator import playbook
from orchestrator.contract import DesiredState, Kind
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.planning.planner import build_plan
from tests.harness.plan_cli import GROUPS, PLAYBOOKS, Recorded, Request, write

#: The list endpoint each kind reads (the account kind uses the account list plan reads anyway).
LISTS = {
    Kind.REACTIONS: "reactions/schedules", Kind.REPOST: "repost/schedules", Kind.WELCOMEDM: "welcomedm/schedules",
    Kind.AI_DM: "ai-dm/schedules", Kind.LEADS: "leads/schedules", Kind.FIRST_COMMENT: "first-comment/schedules",
    Kind.POSTS: "posts", Kind.CAPTIONS: "captions",
}
#: Lists a kind reads besides its own: posts look for the uploads of their files in the media library.
ALSO = {Kind.POSTS: "media"}
SETTINGS = re.compile(r"^(reactions|repost)/schedules/(\d+)/settings$")
EXAMPLES = sorted(p for p in PLAYBOOKS.glob("*.yaml") if p != GROUPS)


async def plan_and_record(recorded: Recorded, paths: list[Path]) -> tuple[DesiredState, list[Request]]:
    book = playbook.load(paths)
    async with recorded.client() as client:
        planned = await build_plan(client, book)
    assert planned.ok, (planned.problems, planned.diagnostics)
    return planned.desired, list(recorded.requests)


def check_lists(requests: list[Request]) -> dict[str, int]:
    """Every list read asks for 100 a page, and each page of each list is read once.
    Returns the pages read per list."""
    lists = [r for r in requests if not any(part.isdigit() for part in r.path.split("/"))]
    for r in lists:
        assert r.method == "GET" and r.query.get("per_page") == "100", r
    pages = Counter((r.path, r.query["page"]) for r in lists)
    assert max(pages.values()) == 1, [p for p, n in pages.items() if n > 1]
    return dict(Counter(r.path for r in lists))


async def test_the_examples_read_each_list_once_and_settings_only_where_named(recorded: Recorded) -> None:
    desired, requests = await plan_and_record(recorded, [PLAYBOOKS])
    assert {r.method for r in requests} == {"GET"}
    lists = check_lists(requests)
    assert lists == {"accounts": 1, **{path: 1 for path in [*LISTS.values(), *ALSO.values()]}}  # one page each

    # Per-account reads: settings, only for accounts whose playbook names settings of that kind.
    singles = [r.path for r in requests if r.path not in lists]
    assert all(SETTINGS.match(p) for p in singles), [p for p in singles if not SETTINGS.match(p)]
    read = Counter((m.group(1), int(m.group(2))) for m in map(SETTINGS.match, singles))
    assert max(read.values()) == 1
    want = {(kind.value, a) for kind in (Kind.REACTIONS, Kind.REPOST)
            for a, d in desired.of_kind(kind).items() if d.settings}
    assert set(read) == want
    # The repost network leaves out the two travel accounts without a Repost Pro schedule.
    assert {a for k, a in want if k == "repost"} == set(range(1, 24))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
async def test_no_module_is_read_that_the_playbook_does_not_manage(recorded: Recorded, path: Path) -> None:
    desired, requests = await plan_and_record(recorded, [GROUPS, path])
    check_lists(requests)
    modules = {r.path.split("/")[0] for r in requests}
    managed = {LISTS[k].split("/")[0] for k in desired.kinds() if k in LISTS} | {
        ALSO[k] for k in desired.kinds() if k in ALSO}
    assert modules == {"accounts"} | managed


async def test_a_welcomedm_playbook_reads_two_lists_and_nothing_else(recorded: Recorded, tmp_path: Path) -> None:
    book = write(tmp_path, "welcome.yaml", """
        version: 1
        groups:
          shops: {usernames: "fashion_*", exclude: [fashion_vogue]}
        entries:
          - groups: shops
            welcomedm: {state: active}
        """)
    _, requests = await plan_and_record(recorded, [book])
    assert [(r.method, r.path, r.query) for r in requests] == [
        ("GET", "accounts", {"page": "1", "per_page": "100"}),
        ("GET", "welcomedm/schedules", {"page": "1", "per_page": "100"}),
    ]


async def test_a_500_account_plan_costs_one_request_per_hundred(tmp_path: Path) -> None:
    emu = LocalEmulator(None)
    async with emu.control() as control:
        seeded = await control.post("/seed", json={"spec": "accounts=500"})
        assert seeded.status_code == 200, seeded.text
        emu.keys.update(seeded.json()["keys"])
    recorded = Recorded(emu)
    async with recorded.client() as client:
        accounts = (await client.raw("GET", "accounts", params={"per_page": 1}))["total"]
        schedules = (await client.raw("GET", "reactions/schedules", params={"per_page": 1}))["total"]
    assert accounts == 500 and schedules > 0
    recorded.requests.clear()

    book = write(tmp_path, "scale.yaml", """
        version: 1
        groups:
          scale: {usernames: "*_s*"}
        entries:
          - groups: scale
            reactions: {state: active}
        """)
    desired, requests = await plan_and_record(recorded, [book])
    assert len(desired.of_kind(Kind.REACTIONS)) == 500
    assert check_lists(requests) == {
        "accounts": math.ceil(accounts / 100),
        "reactions/schedules": math.ceil(schedules / 100),
    }
    assert len(requests) == math.ceil(accounts / 100) + math.ceil(schedules / 100)
