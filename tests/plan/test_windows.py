"""Entry windows in plans: the instant a plan is desired for, the transitions ahead in text,
Markdown and JSON (valid against the plan schema, read back as it was written), ``plan --at``
on the command line over a real socket, and a saved plan with window changes applying."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator import playbook
from orchestrator.apply.saved_plan import load_saved_plan
from orchestrator.plan import Plan
from orchestrator.planning.planner import build_plan
from orchestrator.render import Legend, render_json, render_markdown, render_text
from tests.harness.plan_cli import PLAYBOOKS, SCHEMA, Cli, Recorded, schema_errors

BEFORE = datetime(2027, 11, 1, 12, tzinfo=UTC)  # the demo's "Black Friday push" is ahead
INSIDE = datetime(2027, 11, 27, 12, tzinfo=UTC)


async def _planned(recorded: Recorded, at: datetime):
    book = playbook.load([PLAYBOOKS])
    async with recorded.client() as client:
        return book, await build_plan(client, book, at=at)


async def test_every_plan_lists_the_transitions_ahead(recorded: Recorded) -> None:
    book, planned = await _planned(recorded, BEFORE)
    windows = planned.plan.windows
    assert windows is not None and windows.at == BEFORE and windows.open == ()
    [opens, closes] = windows.transitions
    assert [(e.entry, e.event) for e in opens.events] == [("Black Friday push", "open")]
    assert opens.at == datetime(2027, 11, 26, 5, tzinfo=UTC) and opens.accounts == 8
    assert {(c.action, c.path, c.accounts) for c in opens.changes} >= {
        ("add", "targets[hashtag:blackfriday]", 8), ("add", "targets[hashtag:cybermonday]", 8)}
    closing = [(c.action, c.path, c.before, c.after) for c in closes.changes]
    assert ("remove", "targets[hashtag:blackfriday]",
            {"type": "hashtag", "value": "blackfriday", "id": "blackfriday"}, None) in closing
    assert ("update", "settings.likes_speed", 4, 3) in closing
    # Nothing in the plan itself comes from the closed window.
    assert not any(c.window for c in planned.plan.changes)

    legend = Legend.of(planned.desired, book)
    text = render_text(planned.plan, legend=legend)
    assert "Windows: desired at 2027-11-01 12:00 UTC; none open. Ahead:" in text
    assert ('  2027-11-26 05:00 UTC (00:00 America/New_York): opens "Black Friday push" '
            f"({PLAYBOOKS / 'growth.yaml'}:") in text
    assert "      reactions + targets[hashtag:blackfriday] on 8 accounts: fashion" in text
    assert text.splitlines()[-1].startswith("Plan: ")  # the summary stays the last line
    markdown = render_markdown(planned.plan, legend=legend)
    assert "**Windows: desired at 2027-11-01 12:00 UTC; none open.** Ahead:" in markdown
    assert '- 2027-11-30 05:00 UTC (00:00 America/New_York): closes "Black Friday push"' in markdown
    assert "  - `reactions - targets[hashtag:blackfriday] (where an apply added it for the window)` on 8 accounts: " \
           "fashion" in markdown


async def test_the_json_plan_carries_the_windows_and_reads_back(recorded: Recorded, tmp_path: Path) -> None:
    _, planned = await _planned(recorded, INSIDE)
    data = json.loads(render_json(planned.plan))
    assert schema_errors(data, json.loads(SCHEMA.read_text(encoding="utf-8"))) == []
    assert data["windows"]["at"] == "2027-11-27T12:00:00Z" and data["windows"]["open"] == ["Black Friday push"]
    assert [t["events"][0]["event"] for t in data["windows"]["transitions"]] == ["close"]
    windowed = [c for c in data["changes"] if c.get("window")]
    assert {c["path"] for c in windowed} == {"targets[hashtag:blackfriday]", "targets[hashtag:cybermonday]"}
    assert all(c["window"] == "Black Friday push" and c["action"] == "add" for c in windowed)
    assert Plan.from_json(data) == planned.plan
    saved = tmp_path / "plan.json"
    saved.write_text(render_json(planned.plan), encoding="utf-8")
    assert load_saved_plan(saved) == planned.plan


def test_a_plan_without_windows_has_no_windows_key() -> None:
    data = Plan.build([], "sha256:" + "0" * 64, {}, 0).to_json()
    assert "windows" not in data


@pytest.mark.uvicorn
def test_plan_at_shows_the_plan_as_it_will_be(cli: Cli) -> None:
    now = cli.plan(PLAYBOOKS, "--format", "json")
    then = cli.plan(PLAYBOOKS, "--format", "json", "--at", "2027-11-27T12:00Z")
    assert now.exit_code == then.exit_code == 0, (now.output, then.output)
    now_data, then_data = json.loads(now.stdout), json.loads(then.stdout)
    assert now_data["windows"]["open"] == [] and then_data["windows"]["open"] == ["Black Friday push"]
    extra = {(c["username"], c["path"]) for c in then_data["changes"]} - {
        (c["username"], c["path"]) for c in now_data["changes"]}
    assert ("fashion_nova", "targets[hashtag:blackfriday]") in extra
    # Live as now: both plans read the same live state.
    assert then_data["read"]["fingerprints"] == now_data["read"]["fingerprints"]
    local = cli.plan(PLAYBOOKS, "--format", "json", "--at", "2027-11-27T07:00-05:00")
    assert json.loads(local.stdout)["windows"]["at"] == "2027-11-27T12:00:00Z"
    bad = cli.plan(PLAYBOOKS, "--at", "black friday")
    assert bad.exit_code == 1
    assert bad.stderr.strip() == ("error: --at 'black friday' is not an ISO 8601 date-time: "
                                  "write it such as 2026-11-28T10:00Z")
