"""Group selection: globs, exact usernames and ids, all, exclude; unknown explicit accounts."""

from __future__ import annotations

import pytest

from orchestrator.contract import Account
from orchestrator.playbook import PlaybookError, resolve_groups
from tests.playbook.conftest import DEMO_ACCOUNTS, book


def members(groups_yaml: str, accounts=DEMO_ACCOUNTS) -> dict[str, list[str]]:
    playbook = book(groups_yaml)
    return {name: [a.username for a in found] for name, found in resolve_groups(playbook.groups, accounts).items()}


def test_glob_selects_by_username_pattern() -> None:
    got = members("""
        groups:
          travel: {usernames: travel_*}
          fit_or_food: {usernames: ["fit*", "food_b[ai]*"]}
    """)
    assert got["travel"] == ["travel_nomad", "travel_wander", "travel_coast", "travel_peak"]
    assert got["fit_or_food"] == [
        "fitness_lift", "fitness_core", "fitness_flex", "fitness_pulse", "fitness_stride", "fitness_burn",
        "fitness_yoga", "food_bites", "food_bakes",
    ]


def test_all_with_exclude_by_pattern_username_and_id() -> None:
    got = members("""
        groups:
          most: {all: true, exclude: ["fashion_*", food_grill, 25]}
    """)
    assert len(got["most"]) == 25 - 8 - 2
    assert "food_grill" not in got["most"] and "travel_peak" not in got["most"]
    assert "fitness_lift" in got["most"]


def test_explicit_accounts_by_username_and_id_in_id_order() -> None:
    got = members("""
        groups:
          picked: {accounts: [travel_peak, 3, FASHION_NOVA]}
    """)
    assert got["picked"] == ["fashion_nova", "fashion_atelier", "travel_peak"]


def test_exact_username_under_usernames_is_explicit() -> None:
    with pytest.raises(PlaybookError) as raised:
        members("""
            groups:
              one: {usernames: [fashion_nvoa]}
        """)
    (problem,) = raised.value.diagnostics
    assert (problem.line, problem.col) == (3, 21)
    assert "account `fashion_nvoa` does not exist (group `one`)" in problem.message
    assert problem.hint == "did you mean `fashion_nova`?"


def test_unknown_explicit_accounts_are_errors_never_skipped() -> None:
    with pytest.raises(PlaybookError) as raised:
        members("""
            groups:
              picked:
                accounts: [fashion_nova, ghost_account, 99]
              rest:
                all: true
                exclude: 0_typo_account
        """)
    problems = raised.value.diagnostics
    assert [(p.line, p.col) for p in problems] == [(4, 30), (4, 45), (7, 14)]
    assert "account `ghost_account` does not exist" in problems[0].message
    assert problems[1].message == "no account has id 99 (group `picked`)"
    assert problems[1].hint == "the accounts' ids run from 1 to 25"
    assert problems[2].path == "groups.rest.exclude"


def test_a_pattern_matching_nothing_is_not_an_error() -> None:
    assert members("groups: {pets: {usernames: pets_*}}") == {"pets": []}


def test_accounts_can_be_api_items_or_objects() -> None:
    class Item:
        def __init__(self, id: int, username: str) -> None:
            self.id, self.username = id, username

    playbook = book("groups: {g: {usernames: 'a*'}}")
    got = resolve_groups(playbook.groups, [{"id": 2, "username": "ab"}, Item(1, "ax"), Account(3, "b")])
    assert got["g"] == [Account(1, "ax"), Account(2, "ab")]
