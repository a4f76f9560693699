"""Plans a person can review at 800 accounts: one setting changed everywhere is one line in
text and one row in Markdown, named by the playbook's groups and entries; the Markdown fits a
pull-request comment whatever the fleet size (cut with a pointer to the JSON plan when it has
to be); JSON stays complete and per change."""

from __future__ import annotations

import json

import anyio
import pytest

from orchestrator import playbook
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.plan import Change, Plan
from orchestrator.planning.planner import Planned, build_plan
from orchestrator.render import Legend, render_json, render_markdown, render_text
from orchestrator.render.markdown import COMMENT_LIMIT
from tests.harness.plan_cli import Recorded, write

NICHES = ("fashion", "fitness", "food", "travel")
FLEET = """
    version: 1
    groups:
      fashion: {usernames: "fashion_*"}
      fitness: {usernames: "fitness_*"}
      food: {usernames: "food_*"}
      travel: {usernames: "travel_*"}
    entries:
      - name: Faster likes for the whole fleet
        groups: [fashion, fitness, food, travel]
        reactions:
          settings: {likes_speed: 4}
      - name: Travel stories slow down
        groups: travel
        reactions:
          settings: {story_likes_speed: 1}
    """


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Planned, Legend]:
    """The plan of ``FLEET`` against a world of 800 accounts (``--seed accounts=800``)."""
    recorded = Recorded(LocalEmulator("accounts=800"))
    book = playbook.load([write(tmp_path_factory.mktemp("fleet"), "fleet.yaml", FLEET)])

    async def run() -> Planned:
        async with recorded.client() as client:
            return await build_plan(client, book)

    planned = anyio.run(run)
    assert planned.ok, (planned.problems, planned.diagnostics)
    return planned, Legend.of(planned.desired, book)


def test_one_setting_changed_on_800_accounts_is_one_line_of_text(fleet: tuple[Planned, Legend]) -> None:
    planned, legend = fleet
    assert len([c for c in planned.plan.changes if c.path == "settings.likes_speed"]) == 800
    lines = render_text(planned.plan, legend=legend).splitlines()
    [likes] = [line for line in lines if "settings.likes_speed" in line]
    assert "~ settings.likes_speed: 2 -> 4 on 800 accounts: " in likes
    assert all(niche in likes for niche in NICHES) and "fashion_s0" not in likes
    assert '"Faster likes for the whole fleet"' in likes
    [stories] = [line for line in lines if "settings.story_likes_speed" in line]
    assert "on 200 accounts: travel " in stories and '"Travel stories slow down"' in stories
    assert len(lines) < 10


def test_the_markdown_fits_a_comment_and_names_every_group_and_entry(fleet: tuple[Planned, Legend]) -> None:
    planned, legend = fleet
    md = render_markdown(planned.plan, legend=legend)
    assert len(md) < COMMENT_LIMIT
    [likes] = [line for line in md.splitlines() if line.startswith("| reactions | `~ settings.likes_speed")]
    assert "| 800: " in likes and all(niche in likes for niche in NICHES)
    assert "(Faster likes for the whole fleet)" in likes
    assert "Travel stories slow down" in md
    # Every account is in the collapsed lists, so nothing had to be cut.
    assert md.count("<details>") == 2 and "fashion_s00001" in md and "Cut to fit" not in md
    # JSON stays complete and per change.
    assert len(json.loads(render_json(planned.plan))["changes"]) == 1000


def test_markdown_of_thousands_of_distinct_changes_is_cut_to_fit_with_a_pointer() -> None:
    """Where grouping cannot help (every account's change differs), the comment is cut, and says
    where the complete plan is."""
    changes = [Change(i, f"acct_{i:05d}", "reactions", "update", "settings.likes_speed", i % 7, 1000 + i,
                      f"growth.yaml:{10 + i}:5") for i in range(1, 5001)]
    plan = Plan.build(changes, "sha256:" + "0" * 64, {}, 5000)
    md = render_markdown(plan)
    assert len(md) < COMMENT_LIMIT
    assert "Cut to fit a pull-request comment" in md and "--format json --out plan.json" in md
    assert md.splitlines()[2] == "Plan: 5000 changes on 5000 accounts (reactions: 5000 update)."


def test_accounts_are_named_by_groups_then_globs_then_first_names(fleet: tuple[Planned, Legend]) -> None:
    """Naming falls back from groups (whole, or short of a few accounts) to globs to the first
    names: a set no group or glob covers exactly is named by its first accounts and a count."""
    _, legend = fleet
    some = [f"fashion_s{i:05d}" for i in range(1, 800, 4)][:7]
    assert legend.name_accounts(some) == ", ".join(some[:5]) + " and 2 more"
    everyone_food = sorted(u for u in legend.usernames if u.startswith("food_"))
    assert legend.name_accounts(everyone_food) == "food"
    assert Legend(usernames=legend.usernames).name_accounts(everyone_food) == "food_*"
    # A group short of a few accounts is named as such; two accounts are named by their names.
    assert legend.name_accounts(everyone_food[2:]) == f"food except {everyone_food[0]}, {everyone_food[1]}"
    assert legend.name_accounts(everyone_food[:2]) == ", ".join(everyone_food[:2])


def test_a_value_with_backticks_stays_one_code_span() -> None:
    change = Change(1, "a", "repost", "update", "settings.caption", "old", "use `code` here", "r.yaml:3:5")
    md = render_markdown(Plan.build([change], "sha256:0", {}, 1))
    assert '| repost | `` ~ settings.caption: "old" -> "use `code` here" `` | a | r.yaml:3:5 |' in md


def test_a_source_names_the_entry_it_lies_in_and_no_other() -> None:
    book = playbook.loads(
        "version: 1\n"                                   # 1
        "groups:\n"                                      # 2
        "  all: {all: true}\n"                           # 3
        "entries:\n"                                     # 4
        "  - name: First\n"                              # 5
        "    groups: all\n"                              # 6
        "    reactions: {settings: {likes_speed: 3}}\n"  # 7
        "  - groups: all\n"                              # 8
        "    repost: {state: active}\n"                  # 9
        "captions:\n"                                    # 10
        "  library: {Hello: hi}\n",                      # 11
        "p.yaml")
    legend = Legend.of(None, book)
    assert legend.entry_name("p.yaml:7:32") == "First"
    assert legend.entry_name("p.yaml:9:13") is None  # an entry without a name
    assert legend.entry_name("p.yaml:11:13") is None  # the caption library is no entry's
    assert legend.entry_name("other.yaml:7:1") is None and legend.entry_name(None) is None
