"""`orchestrator plan` over a real socket (uvicorn, demo world): formats, --out, --limit,
--detailed-exitcode, and one clear line for an unknown --limit name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.harness.plan_cli import GROUPS, PLAYBOOKS, SCHEMA, Cli, schema_errors

pytestmark = pytest.mark.uvicorn

WELCOME = [GROUPS, PLAYBOOKS / "welcome.yaml"]
FASHION = {f"fashion_{n}" for n in ["nova", "luxe", "atelier", "street", "vogue", "muse", "trend", "chic"]}


def changes(result) -> list[dict]:
    assert result.exit_code in (0, 2), result.output
    return json.loads(result.stdout)["changes"]


def test_every_format_and_out(cli: Cli, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    as_json = cli.plan(PLAYBOOKS, "--format", "json", "--out", saved)
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert schema_errors(data, json.loads(SCHEMA.read_text(encoding="utf-8"))) == []
    assert json.loads(saved.read_text(encoding="utf-8")) == data
    # ai_dm's one activation is blocked (food_kitchen's schedule has no OpenAI key): 7 kinds change
    assert data["summary"]["total"] > 100 and len(data["summary"]["by_kind"]) == 8
    assert {(b["username"], b["kind"], b["reason"]) for b in data["blocked"]} >= {
        ("food_kitchen", "ai_dm", "ai_key_missing"), ("food_vegan", "first_comment", "login_required")}

    text = cli.plan(PLAYBOOKS)  # text is the default; no colour markup when not on a terminal
    assert text.exit_code == 0, text.output
    assert re.search(r"settings\.likes_speed: \d -> 4 on .+ +\(.*playbooks/growth\.yaml:\d+:\d+ \"[^\"]+\"\)",
                     text.stdout)
    assert text.stdout.rstrip().splitlines()[-1] == (
        f"Plan: {data['summary']['total']} changes on {data['summary']['accounts']} accounts ("
        + "; ".join(f"{k}: " + ", ".join(f"{n} {a}" for a, n in acts.items())
                    for k, acts in data["summary"]["by_kind"].items()) + ").")
    assert "[bold]" not in text.stdout and "\x1b[" not in text.stdout

    saved_md = tmp_path / "plan-md.json"
    md = cli.plan(*WELCOME, "-f", "markdown", "-o", saved_md)
    assert md.exit_code == 0, md.output
    assert md.stdout.startswith("### Sharingtools plan") and "<details><summary>" in md.stdout
    assert "| welcomedm | activate |" in md.stdout
    assert json.loads(saved_md.read_text(encoding="utf-8"))["format_version"] == 1  # --out is always JSON


def test_limit_by_group_and_by_username(cli: Cli) -> None:
    fashion = changes(cli.plan(PLAYBOOKS, "--format", "json", "--limit", "fashion"))
    assert fashion and {c["username"] for c in fashion} <= FASHION
    assert "captions" not in {c["kind"] for c in fashion}  # the library belongs to no group
    assert len({c["username"] for c in fashion}) == 8

    nova = changes(cli.plan(PLAYBOOKS, "--format", "json", "-l", "fashion_nova"))
    assert nova and {c["username"] for c in nova} == {"fashion_nova"}
    assert nova == [c for c in fashion if c["username"] == "fashion_nova"]

    both = changes(cli.plan(PLAYBOOKS, "--format", "json", "-l", "travel", "-l", "FOOD_VEGAN"))
    assert {c["username"] for c in both} == {"travel_nomad", "travel_wander", "travel_coast", "travel_peak",
                                             "food_vegan"}


def test_detailed_exitcode(cli: Cli) -> None:
    with_changes = cli.plan(*WELCOME, "--format", "json", "--detailed-exitcode")
    assert with_changes.exit_code == 2, with_changes.output
    changed = {c["username"] for c in json.loads(with_changes.stdout)["changes"]}
    assert cli.plan(*WELCOME).exit_code == 0  # without the flag, changes are a success

    unchanged = "fashion_nova"
    assert unchanged not in changed
    none = cli.plan(*WELCOME, "--limit", unchanged, "--detailed-exitcode")
    assert none.exit_code == 0, none.output
    assert none.stdout.strip() == "No changes. The installation matches the playbooks."

    error = cli.plan(*WELCOME, "--limit", "nobody_here", "--detailed-exitcode")
    assert error.exit_code == 1


def test_an_unknown_limit_is_one_clear_line(cli: Cli) -> None:
    result = cli.plan(*WELCOME, "--limit", "welcome_dn")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == ["--limit: `welcome_dn` is neither a group nor an account; did you mean `welcome_dm`?"]
    username = cli.plan(*WELCOME, "--limit", "fashion_nvoa")
    assert username.exit_code == 1 and username.stderr.strip().endswith("did you mean `fashion_nova`?")


def test_an_unknown_format_is_refused_before_any_request(cli: Cli) -> None:
    cli.reset_requests()
    result = cli.plan(*WELCOME, "--format", "yaml")
    assert result.exit_code == 1 and "unknown format 'yaml'" in result.stderr
    assert cli.requests() == {}
