"""Precedence: entries in file order then entry order, field by field, every value sourced."""

from __future__ import annotations

import pytest

from orchestrator.contract import (
    FirstCommentDesired,
    Kind,
    LeadsDesired,
    Position,
    ScheduleDesired,
    SecretRef,
)
from orchestrator.playbook import PlaybookError, Source, desired_state, limited_to, load, load_sources
from tests.playbook.conftest import DEMO_ACCOUNTS, book

GROUPS = """
groups:
  fashion: {usernames: fashion_*}
  flagships: {accounts: [fashion_nova, fashion_luxe]}
  everyone: {all: true}
"""


def reactions(state, account_id: int) -> ScheduleDesired:
    found = state.get(account_id, Kind.REACTIONS)
    assert isinstance(found, ScheduleDesired)
    return found


def test_later_entries_override_field_by_field_with_sources() -> None:
    playbook = book(GROUPS + """
entries:
  - groups: fashion
    reactions:
      state: active
      settings: {likes_speed: 2, is_follow: true}
  - groups: flagships
    reactions:
      settings: {likes_speed: 4}
""")
    state = desired_state(playbook, DEMO_ACCOUNTS)
    nova, chic = reactions(state, 1), reactions(state, 8)
    assert nova.settings["likes_speed"].value == 4
    assert nova.settings["likes_speed"].source == Position("a.yaml", 14, 31)
    assert nova.settings["is_follow"].value is True
    assert nova.settings["is_follow"].source == Position("a.yaml", 11, 45)
    assert nova.state is not None and nova.state.value == "active" and nova.state.line == 10
    assert chic.settings["likes_speed"].value == 2 and chic.settings["likes_speed"].line == 11
    # Never-mentioned kinds and accounts are not managed.
    assert state.get(1, Kind.REPOST) is None
    assert state.get(9, Kind.REACTIONS) is None


def test_files_apply_in_the_order_given() -> None:
    first = GROUPS + "entries:\n  - {groups: everyone, repost: {settings: {speed: slow}}}\n"
    second = "entries:\n  - {groups: fashion, repost: {settings: {speed: fast}}}\n"
    forward = desired_state(load_sources([Source("1.yaml", first), Source("2.yaml", second)]), DEMO_ACCOUNTS)
    speed = forward.of_kind(Kind.REPOST)[1].settings["speed"]  # type: ignore[union-attr]
    assert (speed.value, speed.file) == ("fast", "2.yaml")
    assert forward.of_kind(Kind.REPOST)[9].settings["speed"].value == "slow"  # type: ignore[union-attr]


def test_a_directory_loads_its_files_sorted_by_name(tmp_path) -> None:
    (tmp_path / "b-override.yml").write_text("entries:\n  - {groups: fashion, welcomedm: {state: paused}}\n")
    (tmp_path / "a-base.yaml").write_text(GROUPS + "entries:\n  - {groups: everyone, welcomedm: {state: active}}\n")
    (tmp_path / "notes.txt").write_text("not a playbook")
    playbook = load([tmp_path])
    assert [name.rsplit("/", 1)[-1] for name in playbook.files] == ["a-base.yaml", "b-override.yml"]
    state = desired_state(playbook, DEMO_ACCOUNTS)
    assert state.get(1, Kind.WELCOMEDM).state.value == "paused"  # type: ignore[union-attr]
    assert state.get(9, Kind.WELCOMEDM).state.value == "active"  # type: ignore[union-attr]


def test_targets_are_a_union_and_prune_replaces_what_came_before() -> None:
    playbook = book(GROUPS + """
entries:
  - groups: everyone
    reactions:
      targets: [hashtag: ootd, hashtag: style]
  - groups: fashion
    reactions:
      targets: [hashtag: OOTD, {people: zara, id: 27451342}]
  - groups: flagships
    reactions:
      prune: true
      targets: [hashtag: luxury]
  - groups: [flagships]
    reactions:
      targets: [hashtag: vip]
""")
    state = desired_state(playbook, DEMO_ACCOUNTS)
    fitness, chic, nova = reactions(state, 9), reactions(state, 8), reactions(state, 1)
    assert [t.value.value for t in fitness.targets or ()] == ["ootd", "style"]
    assert fitness.prune is None and not fitness.exact
    # The same target again (case-insensitively) replaces the earlier one in place.
    assert [str(t.value) for t in chic.targets or ()] == ["hashtag:OOTD", "hashtag:style", "people:zara (id 27451342)"]
    assert chic.targets is not None and chic.targets[0].line == 13
    # prune: true resets the set (last writer wins); later entries add to it; it stays exact.
    assert [t.value.value for t in nova.targets or ()] == ["luxury", "vip"]
    assert nova.exact and nova.prune is not None and nova.prune.line == 16


def test_targets_not_mentioned_are_not_managed() -> None:
    state = desired_state(book(GROUPS + "entries:\n  - {groups: fashion, reactions: {state: paused}}\n"),
                          DEMO_ACCOUNTS)
    assert reactions(state, 1).targets is None


def test_leads_catch_all_and_task_names() -> None:
    playbook = book(GROUPS + """
entries:
  - groups: everyone
    leads:
      - {task_name: spring, state: running}
      - {state: stopped}
  - groups: flagships
    leads: {state: running}
  - groups: flagships
    leads: [{task_name: winter, state: stopped}]
""")
    state = desired_state(playbook, DEMO_ACCOUNTS)
    plain = state.get(9, Kind.LEADS)
    assert isinstance(plain, LeadsDesired)
    # Within one entry the named task beats the catch-all, whatever the order written.
    assert plain.state_for("spring").value == "running"  # type: ignore[union-attr]
    assert plain.state_for("other").value == "stopped"  # type: ignore[union-attr]
    assert plain.state_for(None).value == "stopped"  # type: ignore[union-attr]
    nova = state.get(1, Kind.LEADS)
    assert isinstance(nova, LeadsDesired)
    # A later catch-all overrides earlier named tasks; a later named task beats it again.
    assert nova.state_for("spring").value == "running" and nova.state_for("spring").line == 13  # type: ignore[union-attr]
    assert nova.state_for("winter").value == "stopped"  # type: ignore[union-attr]


def test_first_comment_schedules_merge_by_name_and_by_target_set() -> None:
    playbook = book(GROUPS + """
entries:
  - groups: fashion
    first_comment:
      schedules:
        - name: brands
          targets: [nike, {username: adidas, user_pk: "17841400"}]
          comments: ["{Love|Adore} it"]
        - targets: [zara]
          comments: ["Chic!"]
          mode: sequential
  - groups: flagships
    first_comment:
      schedules:
        - {name: brands, state: paused}
        - {targets: [ZARA], state: paused}
""")
    state = desired_state(playbook, DEMO_ACCOUNTS)
    nova = state.get(1, Kind.FIRST_COMMENT)
    assert isinstance(nova, FirstCommentDesired) and not nova.exact
    brands, zara = nova.schedules
    assert brands.match_key == frozenset({"nike", "adidas"})
    assert brands.state is not None and brands.state.value == "paused" and brands.state.line == 20
    assert brands.comments is not None and brands.comments.value == ("{Love|Adore} it",)
    assert brands.targets is not None and brands.targets.value[1].user_pk == "17841400"
    assert zara.label == "[zara]" and zara.mode.value == "sequential"  # type: ignore[union-attr]
    assert zara.state.value == "paused"  # type: ignore[union-attr]


def test_first_comment_prune_keeps_listed_schedules_fields() -> None:
    playbook = book(GROUPS + """
entries:
  - groups: fashion
    first_comment:
      schedules:
        - {name: a, targets: [nike], comments: [hi]}
        - {name: b, targets: [zara], comments: [hey]}
  - groups: flagships
    first_comment:
      prune: true
      schedules: [{name: b, mode: random}]
""")
    nova = desired_state(playbook, DEMO_ACCOUNTS).get(1, Kind.FIRST_COMMENT)
    assert isinstance(nova, FirstCommentDesired) and nova.exact
    (only,) = nova.schedules
    assert only.name == "b" and only.comments.value == ("hey",) and only.mode.value == "random"  # type: ignore[union-attr]


def test_a_named_schedule_without_targets_for_some_accounts_is_an_error() -> None:
    playbook = book(GROUPS + """
entries:
  - groups: flagships
    first_comment:
      schedules: [{name: brands, targets: [nike], comments: [hi]}]
  - groups: fashion
    first_comment:
      schedules: [{name: brands, state: paused}]
""")
    with pytest.raises(PlaybookError) as raised:
        desired_state(playbook, DEMO_ACCOUNTS)
    (problem,) = raised.value.diagnostics
    assert problem.line == 13
    assert "schedule `brands` has no targets for fashion_atelier, fashion_street" in problem.message
    assert "and 1 more" in problem.message


def test_account_proxy_and_password_reference() -> None:
    playbook = book(GROUPS + """
entries:
  - {groups: everyone, account: {proxy: auto}}
  - {groups: flagships, account: {proxy: {env: FLAGSHIP_PROXY}, password: {file: secrets/pw.txt}}}
""")
    state = desired_state(playbook, DEMO_ACCOUNTS)
    assert state.get(9, Kind.ACCOUNT).proxy.value == "auto"  # type: ignore[union-attr]
    nova = state.get(1, Kind.ACCOUNT)
    assert nova.proxy.value == SecretRef(env="FLAGSHIP_PROXY")  # type: ignore[union-attr]
    assert nova.password.value == SecretRef(file="secrets/pw.txt")  # type: ignore[union-attr]


def test_captions_merge_across_sections_and_prune_resets() -> None:
    first = "captions:\n  library:\n    Old: one\n    Kept: two\n"
    second = "captions:\n  prune: true\n  library:\n    Kept: two, edited\n"
    third = "captions:\n  library:\n    New: three\n"
    state = desired_state(load_sources([Source(n, t) for n, t in
                                        (("1.yaml", first), ("2.yaml", second), ("3.yaml", third))]), [])
    assert state.captions is not None and state.captions.exact
    assert {t: s.value for t, s in state.captions.captions.items()} == {"Kept": "two, edited", "New": "three"}
    assert state.captions.captions["Kept"].source == Position("2.yaml", 4, 11)
    assert state.kinds() == frozenset({Kind.CAPTIONS})


def test_items_are_ordered_by_account_then_kind() -> None:
    playbook = book(GROUPS + """
entries:
  - {groups: flagships, welcomedm: {state: active}}
  - {groups: flagships, account: {proxy: auto}, reactions: {state: active}}
""")
    got = [(a.id, k) for a, k, _ in desired_state(playbook, DEMO_ACCOUNTS).items()]
    assert got == [(1, Kind.ACCOUNT), (1, Kind.REACTIONS), (1, Kind.WELCOMEDM),
                   (2, Kind.ACCOUNT), (2, Kind.REACTIONS), (2, Kind.WELCOMEDM)]


def test_limited_to_groups_and_usernames() -> None:
    playbook = book(GROUPS + "captions: {library: {A: a}}\nentries:\n  - {groups: everyone, ai_dm: {state: active}}\n")
    state = desired_state(playbook, DEMO_ACCOUNTS)
    limited = limited_to(state, ["flagships", "TRAVEL_PEAK"])
    assert sorted(limited.by_account) == [1, 2, 25] and limited.captions is None
    with pytest.raises(PlaybookError) as raised:
        limited_to(state, ["flagship"])
    assert raised.value.diagnostics[0].hint == "did you mean `flagships`?"


def test_policy_is_merged_key_by_key_later_files_winning() -> None:
    first = GROUPS + "policy: {max_pauses: 10%, max_deletions: 5}\n"
    second = "policy: {max_deletions: 2, waves: [1, 50%, 100%]}\n"
    playbook = load_sources([Source("1.yaml", first), Source("2.yaml", second)])
    policy = playbook.policy
    assert policy.max_pauses is not None and policy.max_pauses.value.of(200) == 20
    assert policy.max_deletions is not None
    assert (policy.max_deletions.value.of(200), policy.max_deletions.file) == (2, "2.yaml")
    assert [str(w) for w in policy.waves.value] == ["1", "50%", "100%"]  # type: ignore[union-attr]
    assert set(policy.limits()) == {"max_pauses", "max_deletions"}
