"""What stops a plan, each as one clear line and exit 1: static errors before any request; a typo
of an account name and a Reactions Pro setting the live API does not have, together in one pass.
And what does not stop it, each a per-account problem on stderr (exit 1 only with --strict): a
module the user's plan lacks, an account without the schedule a kind needs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator import playbook
from tests.harness.plan_cli import CORPUS, Cli, line_of, write

pytestmark = pytest.mark.uvicorn

EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$")


def position(path: Path, needle: str, after: int = 0) -> str:
    line = line_of(path, needle, after)
    col = path.read_text(encoding="utf-8").splitlines()[line - 1].index(needle) + 1
    return f"{path}:{line}:{col}"


@pytest.mark.parametrize("name", ["02-reactions-setting-typo", "20-inline-api-key", "22-unknown-group",
                                  "23-yaml-syntax-error"])
def test_a_static_error_exits_1_before_any_request(cli: Cli, name: str) -> None:
    path = CORPUS / f"{name}.yaml"
    line, col, text = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0]).groups()  # type: ignore[union-attr]
    cli.reset_requests()
    result = cli.plan(path, "--detailed-exitcode")
    assert result.exit_code == 1
    assert result.stdout == ""
    [shown] = result.stderr.strip().splitlines()
    assert shown.startswith(f"{path}:{line}:{col}: ") and text in shown
    assert cli.requests() == {}, "a static error must cost zero API requests"


def test_an_explicit_account_that_does_not_exist(cli: Cli, tmp_path: Path) -> None:
    book = write(tmp_path, "flagships.yaml", """
        version: 1
        groups:
          flagships:
            accounts: [fashion_nova, fashion_nvoa]
        entries:
          - groups: flagships
            welcomedm: {state: active}
            reactions: {state: active}
        """)
    assert playbook.validate([book]) == []  # only the live account list can tell
    result = cli.plan(book)
    assert result.exit_code == 1
    assert result.stdout == ""
    [shown] = result.stderr.strip().splitlines()
    assert shown.startswith(f"{position(book, 'fashion_nvoa')}: account `fashion_nvoa` does not exist"), shown
    assert "did you mean `fashion_nova`?" in shown


def test_every_error_in_the_playbook_is_reported_in_one_pass(cli: Cli, tmp_path: Path) -> None:
    """A typo of an account (found with the account list) and a setting the live API lacks (found
    with the settings read) come out together, not one run at a time."""
    book = write(tmp_path, "flagships.yaml", """
        version: 1
        groups:
          flagships:
            accounts: [fashion_nova, fashion_nvoa]
        entries:
          - groups: flagships
            reactions:
              settings: {turbo_boost: true}
        """)
    result = cli.plan(book)
    assert result.exit_code == 1
    shown = result.stderr.strip().splitlines()
    assert len(shown) == 2, shown
    assert "account `fashion_nvoa` does not exist" in shown[0] and "turbo_boost" in shown[1]


def test_a_reactions_setting_the_live_api_lacks(cli: Cli, tmp_path: Path) -> None:
    # Neither is in the static list, nor one typo away from a field in it: validate accepts both.
    book = write(tmp_path, "growth.yaml", """
        version: 1
        groups:
          flagships: {accounts: [fashion_nova, fashion_luxe]}
        entries:
          - groups: flagships
            reactions:
              settings:
                likes_speed: 3
                story_like_speed: 2
                turbo_boost: true
        """)
    assert playbook.validate([book]) == []
    result = cli.plan(book, "--detailed-exitcode")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"{position(book, 'story_like_speed')}: the live API has no Reactions Pro setting `story_like_speed`; "
        "did you mean `story_likes_speed`?",
        f"{position(book, 'turbo_boost')}: the live API has no Reactions Pro setting `turbo_boost`; "
        "the server does not know this field",
    ]


def test_a_module_the_users_plan_lacks(cli: Cli, tmp_path: Path) -> None:
    book = write(tmp_path, "pets.yaml", """
        version: 1
        groups:
          pets: {usernames: "pets_*"}
          paws: {accounts: [pets_paws]}
        entries:
          - groups: paws
            welcomedm: {state: active}   # fine: bob's plan has Welcome DM
          - groups: pets
            ai_dm: {state: active}
        """)
    result = cli.plan(book, user="bob")
    # A module the plan lacks is refused by the server: blocked, reported, never attempted.
    assert result.exit_code == 0, result.stderr
    assert "AI-DM is not in your Sharingtools plan: add the module to your plan" in result.stdout
    for name in ("pets_paws", "pets_tails", "pets_whiskers"):
        assert f"{name} · ai_dm" in result.stdout


def test_an_account_without_a_repost_schedule(cli: Cli, tmp_path: Path) -> None:
    book = write(tmp_path, "travel.yaml", """
        version: 1
        groups:
          travel: {usernames: "travel_*"}
        entries:
          - groups: travel
            repost: {state: paused}
        """)
    result = cli.plan(book, "--format", "json", "--strict")
    assert result.exit_code == 1
    problems = result.stderr.strip().splitlines()[:-1]
    assert len(problems) == 2
    for name in ("travel_coast", "travel_peak"):
        assert any(p.startswith(f"problem: {name} · repost: has no Repost Pro schedule") and "exclude the account" in p
                   for p in problems), problems


def test_a_bad_limit_is_reported_with_the_other_errors(cli: Cli, tmp_path: Path) -> None:
    book = write(tmp_path, "growth.yaml", """
        version: 1
        groups:
          flagships: {accounts: [fashion_nova, fashion_luxe]}
        entries:
          - groups: flagships
            reactions:
              settings: {turbo_boost: true}
        """)
    result = cli.plan(book, "--limit", "flagships", "--limit", "fashion_nvoa")
    assert result.exit_code == 1 and result.stdout == ""
    shown = result.stderr.strip().splitlines()
    assert len(shown) == 2, shown
    assert shown[0] == "--limit: `fashion_nvoa` is neither a group nor an account; did you mean `fashion_nova`?"
    assert "turbo_boost" in shown[1]
