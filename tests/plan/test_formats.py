"""Plans of the example playbooks against the demo world, in every format: text (with the
file:line:col of every value that asks for a change, and the summary line), Markdown (ready for
a pull-request comment), and JSON (valid against docs/plan-schema.json, format_version 1)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import anyio
import pytest

from orchestrator import playbook
from orchestrator.contract import Kind
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.apply.run import operations_of
from orchestrator.kinds import Op
from orchestrator.plan import Plan, plan_checksum
from orchestrator.render import Legend, render_json, render_markdown, render_text
from orchestrator.render.changes import shown
from orchestrator.planning.planner import Planned, build_plan
from tests.harness.plan_cli import PLAYBOOKS, SCHEMA, Recorded, line_of, schema_errors

SOURCE = re.compile(r"\((?P<file>[^()]+\.yaml):(?P<line>\d+):(?P<col>\d+)( \"[^\"]+\")?\)$")
SUMMARY = re.compile(r"^Plan: (\d+) changes on (\d+) accounts \((.+)\)\.$")


@pytest.fixture(scope="module")
def planned() -> Planned:
    """The plan of every example playbook against a fresh demo world (read-only: shared)."""
    recorded = Recorded(LocalEmulator("demo"))

    async def run() -> Planned:
        async with recorded.client() as client:
            return await build_plan(client, playbook.load([PLAYBOOKS]))

    result = anyio.run(run)
    assert result.ok, (result.problems, result.diagnostics)
    return result


def token_for(path: str) -> str:
    """What the playbook line asking for a change at ``path`` must contain."""
    if path.startswith("settings."):
        return path.removeprefix("settings.") + ":"
    if path.endswith("state"):
        return "state:"
    if path.endswith(".comments"):
        return "comments:"
    if path.endswith(".comment_mode"):
        return "mode:"
    if path == "proxy":
        return "proxy:"
    if path.startswith("targets["):
        return path[len("targets["):].split(":", 1)[0]
    if path.startswith(("captions[", "schedules[", "posts[")):
        return path.split("[", 1)[1].rstrip("]")
    raise AssertionError(f"unexpected path {path}")


def test_the_demo_plan_covers_every_kind_and_points_at_the_lines_asking(planned: Planned) -> None:
    plan = planned.plan
    # ai_dm's one activation is blocked (the schedule has no OpenAI key): it is in `blocked`
    assert {c.kind for c in plan.changes} | {b.kind for b in plan.blocked} == {
        "account", "reactions", "repost", "welcomedm", "ai_dm", "leads", "first_comment", "posts", "captions"}
    files: dict[str, list[str]] = {}
    for c in plan.changes:
        assert c.source, c
        file, line, col = c.source.rsplit(":", 2)
        text = files.setdefault(file, Path(file).read_text(encoding="utf-8").splitlines())[int(line) - 1]
        assert token_for(c.path) in text, f"{c.path} points at {c.source}: {text!r}"
        assert int(col) >= 1
    # Precedence shows: the flagships' override is what fashion_nova's likes_speed comes from.
    nova = next(c for c in plan.changes if c.username == "fashion_nova" and c.path == "settings.likes_speed")
    growth = PLAYBOOKS / "growth.yaml"
    assert nova.after == 4 and nova.source.startswith(f"{growth}:")
    assert line_of(growth, "Flagships go faster") < int(nova.source.split(":")[-2]) < line_of(growth, "Fitness growth")


def legend_of(planned: Planned) -> Legend:
    return Legend.of(planned.desired, playbook.load([PLAYBOOKS]))


def test_text_groups_identical_changes_with_their_sources_entries_and_a_summary(planned: Planned) -> None:
    plan = planned.plan
    text = render_text(plan, legend=legend_of(planned))
    lines = text.splitlines()
    changes_part = text.split("\nBlocked: ")[0].splitlines()  # blocked changes are listed apart
    change_lines = [line for line in changes_part if line.startswith("  ")]
    groups = {(c.kind, c.action, c.path, *map(json.dumps, shown(c)), c.source) for c in plan.changes}
    assert len(change_lines) == len(groups) < len(plan.changes)  # one line per distinct change
    assert all(SOURCE.search(line) for line in change_lines), [line for line in change_lines if not SOURCE.search(line)]
    assert "reactions" in lines and "fashion_nova · reactions" not in lines
    # The flagships' override: one line naming the group, the source and the entry's name.
    [flagships] = [line for line in change_lines if "settings.likes_speed" in line and "fashion_flagships" in line]
    assert re.search(r'~ settings\.likes_speed: \d -> 4 on 2 accounts: fashion_flagships +\(.*growth\.yaml:\d+:\d+ '
                     r'"Flagships go faster"\)$', flagships), flagships
    summary = SUMMARY.match(lines[-1])
    assert summary, lines[-1]
    s = plan.summary()
    assert (int(summary.group(1)), int(summary.group(2))) == (s["total"], s["accounts"])
    for kind, actions in s["by_kind"].items():
        assert f"{kind}: " + ", ".join(f"{n} {a}" for a, n in actions.items()) in summary.group(3)
    coloured = render_text(plan, colour=True, legend=legend_of(planned))
    assert "[cyan]reactions[/]" in coloured and "[dim](" in coloured
    # --detail: every account under its change.
    detail = render_text(plan, legend=legend_of(planned), detail=True)
    named = {n.strip() for line in detail.splitlines() if line.startswith("      ") for n in line.split(",")}
    assert {c.username for c in plan.changes if c.account_id} <= named


def test_markdown_is_a_summary_table_grouped_changes_and_their_accounts_in_details(planned: Planned) -> None:
    plan = planned.plan
    md = render_markdown(plan, legend=legend_of(planned))
    lines = md.splitlines()
    assert lines[0].startswith("### ") and SUMMARY.match(lines[2])
    assert "| kind | action | changes |" in lines and "| kind | change | accounts | source |" in lines
    rows = [row for row in lines[lines.index("| kind | change | accounts | source |") + 2:] if row.startswith("| ")]
    groups = {(c.kind, c.action, c.path, *map(json.dumps, shown(c)), c.source) for c in plan.changes}
    assert len(rows) == len(groups)
    for row in rows:  # every row has exactly four cells: pipes inside a change are escaped
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 4, row
        assert re.search(r"\.yaml:\d+:\d+", cells[3]), row
    assert any("Flagships go faster" in row for row in rows)
    multi = [r for r in rows if re.search(r"\| \d+: ", r)]  # changes on several accounts list them in <details>
    assert md.count("<details>") == md.count("</details>") == len(multi) > 0
    by_kind = {(k, a): n for k, actions in plan.summary()["by_kind"].items() for a, n in actions.items()}
    for (kind, action), n in by_kind.items():
        assert f"| {kind} | {action} | {n} |" in lines


def test_json_matches_the_documented_schema(planned: Planned) -> None:
    plan = planned.plan
    data = json.loads(render_json(plan))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema_errors(data, schema) == []
    assert data["format_version"] == 1
    assert data["summary"]["total"] == len(data["changes"]) == len(plan.changes)
    counted = Counter((c["kind"], c["action"]) for c in data["changes"])
    assert counted == Counter({(k, a): n for k, acts in data["summary"]["by_kind"].items() for a, n in acts.items()})
    assert data["summary"]["accounts"] == len({c["account_id"] for c in data["changes"]})
    # What was read: every account a kind was planned for, with a fingerprint per kind.
    fingerprints = data["read"]["fingerprints"]
    assert data["read"]["accounts"] == len(fingerprints) == 26  # alice's 25 and the caption library ("0")
    assert set(fingerprints["1"]) == {"account", "reactions", "repost", "welcomedm", "ai_dm", "leads", "first_comment",
                                      "posts"}
    assert set(fingerprints["0"]) == {"captions"}
    # A saved plan reads back to the same plan, typed: kinds are `Kind` again, not text.
    again = Plan.from_json(data)
    assert again == plan
    assert all(type(c.kind) is Kind for c in again.changes)
    assert [c.on_library for c in again.changes] == [c.account_id == 0 for c in again.changes]
    assert {op.name for op in operations_of(again.changes)} <= set(Op)


def test_the_schema_catches_what_it_should() -> None:
    """The checker is not vacuous: a plan missing a field or with a bad action fails it."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    good = Plan.build([], "sha256:" + "0" * 64, {}, 0).to_json()
    assert schema_errors(good, schema) == []
    assert schema_errors({**good, "format_version": 2}, schema)
    change = {"account_id": 1, "username": "a", "kind": "reactions", "action": "explode", "path": "state",
              "before": None, "after": None, "source": "a.yaml:1:1"}
    [problem] = schema_errors({**good, "changes": [change]}, schema)
    assert problem.startswith("$.changes[0].action: \"explode\" is not one of")
    del change["source"]
    assert schema_errors({**good, "changes": [{**change, "action": "add"}]}, schema) == [
        '$.changes[0]: "source" is a required property']


def test_an_empty_plan_says_so_in_every_format() -> None:
    plan = Plan.build([], "sha256:" + "0" * 64, {1: {"welcomedm": "sha256:" + "1" * 64}}, 1)
    assert render_text(plan) == "No changes. The installation matches the playbooks."
    assert "No changes." in render_markdown(plan) and "<details>" not in render_markdown(plan)
    data = json.loads(render_json(plan))
    assert data["changes"] == [] and data["summary"] == {"total": 0, "accounts": 0, "by_kind": {}, "blocked": 0}
    assert schema_errors(data, json.loads(SCHEMA.read_text(encoding="utf-8"))) == []


def test_a_corrected_target_id_replaces_the_live_target():
    """Live has `location: Paris` with id 5; the playbook says id 6. The server keys targets by
    (type, value), so the plan removes the old one before adding the new (with or without prune)."""
    from orchestrator.contract import Account, Position, ScheduleDesired, Sourced, Target
    from orchestrator.kinds import KindRegistry

    at = Position("p.yaml", 3, 5)
    desired = ScheduleDesired(Kind.REACTIONS, targets=(Sourced(Target("location", "Paris", "6"), at),))
    live = {"state": "active", "targets": [{"target_id": 9, "type": "location", "id": "5", "value": "Paris"}]}
    reactions = KindRegistry.default()[Kind.REACTIONS]
    changes = reactions.diff(Account(1, "a"), desired, live)
    assert [(c.action, c.ref) for c in changes] == [("remove", 9), ("add", None)]
    ops = reactions.operations(sorted(changes, key=lambda c: c.sort_key()))
    assert [op.name for op in ops] == [Op.REMOVE_TARGET, Op.ADD_TARGET]


def _one_shot(plan: Plan) -> str:
    """The plan's JSON as the standard encoder writes the whole document at once."""
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False, default=str)


def test_the_streamed_json_is_the_one_shot_encoding_byte_for_byte(planned: Planned) -> None:
    """`write_json` encodes the changes one at a time and hashes the checksum piece by piece:
    the text and the checksum are what encoding the whole document gives."""
    plan = planned.plan
    assert plan.changes and plan.blocked
    assert render_json(plan) == _one_shot(plan)
    data = plan.to_json()
    assert data["checksum"] == plan_checksum(data) == plan.checksum()
    empty = Plan.build([], plan.playbook_hash, {}, 0)
    assert render_json(empty) == _one_shot(empty)
    assert json.loads(render_json(empty))["changes"] == []
    only_one = Plan.build([plan.changes[0]], "sha256:ü", {7: {"reactions": "sha256:x"}}, 1)
    assert render_json(only_one) == _one_shot(only_one)
    assert only_one.to_json()["checksum"] == plan_checksum(only_one.to_json())
