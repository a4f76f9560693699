"""The safety policy on its own: limits, overrides per scope, the empty-prune guard, bad flags.

Plans are built from plain ``Change`` values and a desired state merged from a small playbook
over ten accounts (fashion_0..4, food_0..4); nothing here talks to a server."""

from __future__ import annotations

import pytest

from orchestrator import playbook
from orchestrator.contract import Account
from orchestrator.plan import Change
from orchestrator.apply.policy import PolicyError, SafetyPolicy

ACCOUNTS = [Account(i + 1, f"{'fashion' if i < 5 else 'food'}_{i % 5}") for i in range(10)]
BOOK = """\
version: 1
groups:
  fashion: {usernames: "fashion_*"}
  food: {usernames: "food_*"}
entries:
  - groups: [fashion, food]
    reactions: {state: active, targets: [{type: hashtag, value: summer}]}
  - groups: food
    repost: {prune: true, targets: []}
"""


def desired(text: str = BOOK):  # type: ignore[no-untyped-def]
    return playbook.desired_state(playbook.loads(text, "p.yaml"), ACCOUNTS)


def changes(action: str, accounts: range | list[int], kind: str = "reactions", path: str = "state") -> list[Change]:
    by_id = {a.id: a.username for a in ACCOUNTS}
    return [Change(a, by_id[a], kind, action, path) for a in accounts]


def rules(policy: SafetyPolicy, plan: list[Change], text: str = BOOK) -> list[str]:
    return [v.rule for v in policy.check(plan, desired(text))]


def test_default_limits_stop_a_mass_pause_but_not_a_small_one() -> None:
    policy = SafetyPolicy.build(desired())
    assert rules(policy, changes("pause", [1, 2])) == []               # 20% of 10
    [violation] = policy.check(changes("pause", [1, 2, 3]), desired())
    assert violation.rule == "max_pauses"
    assert "pause 3 accounts, over the limit of 2 (20% of 10 managed accounts)" in str(violation)
    assert "--allow pause:reactions" in str(violation)


def test_accounts_count_once_items_count_each() -> None:
    policy = SafetyPolicy.build(desired(), overrides=["max_pauses=1", "max_target_removals=2"])
    two_pauses_one_account = changes("pause", [1]) + changes("pause", [1], kind="repost")
    assert rules(policy, two_pauses_one_account) == []
    three_removals = [Change(1, "fashion_0", "reactions", "remove", f"targets[hashtag:{t}]") for t in "abc"]
    assert rules(policy, three_removals) == ["max_target_removals"]


def test_an_allow_covers_its_class_and_scope_only() -> None:
    plan = changes("pause", range(1, 11))
    assert rules(SafetyPolicy.build(desired(), allow=["pause:reactions"]), plan) == []
    assert rules(SafetyPolicy.build(desired(), allow=["pause:fashion"]), plan) == ["max_pauses"]  # food is left
    assert rules(SafetyPolicy.build(desired(), allow=["pause:fashion", "pause:food"]), plan) == []
    assert rules(SafetyPolicy.build(desired(), allow=["activate:reactions"]), plan) == ["max_pauses"]
    one_account = SafetyPolicy.build(desired(), overrides=["max_pauses=0"], allow=["pause:fashion_0"])
    assert rules(one_account, changes("pause", [1])) == []
    assert rules(one_account, changes("pause", [2])) == ["max_pauses"]


def test_playbook_limits_apply_and_flags_override_them() -> None:
    text = BOOK + "policy:\n  max_activations: 1\n"
    plan = changes("activate", [1, 2])
    assert rules(SafetyPolicy.build(desired(text)), plan, text) == ["max_activations"]
    assert rules(SafetyPolicy.build(desired(text), overrides=["max_activations=50%"]), plan, text) == []
    assert rules(SafetyPolicy.build(desired()), plan) == []  # unlimited unless set


def test_a_prune_to_nothing_is_blocked_whatever_the_limits() -> None:
    plan = [Change(6, "food_0", "repost", "remove", "targets[hashtag:x]")]
    policy = SafetyPolicy.build(desired(), overrides=["max_target_removals=100"])
    [violation] = policy.check(plan, desired())
    assert violation.rule == "prune"
    assert "food_0 · repost would remove everything" in str(violation)
    assert rules(SafetyPolicy.build(desired(), allow=["prune:repost"]), plan) == []


@pytest.mark.parametrize(("overrides", "allow", "message"), [
    (["max_pauses"], [], "--policy 'max_pauses': use NAME=VALUE"),
    (["max_everything=5"], [], "NAME one of max_pauses"),
    (["max_pauses=lots"], [], "--policy max_pauses: 'lots' is not a count or a percentage"),
    (["max_pauses=120%"], [], "is not a count or a percentage"),
    ([], ["pause"], "--allow 'pause': use CLASS:SCOPE"),
    ([], ["pause:*"], "there is no global override"),
    ([], ["explode:fashion"], "CLASS one of pause, activate"),
])
def test_bad_flags_are_one_clear_error(overrides: list[str], allow: list[str], message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace("*", r"\*")):
        SafetyPolicy.build(desired(), overrides=overrides, allow=allow)
