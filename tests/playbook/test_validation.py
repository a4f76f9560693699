"""Validation across files, live settings checks, and the JSON schema."""

from __future__ import annotations

import json

from orchestrator.playbook import (
    Diagnostic,
    Source,
    check_live_settings,
    json_schema,
    load_sources,
    validate_sources,
)

GROUPS = "groups:\n  fashion: {usernames: fashion_*}\n"


def test_groups_are_shared_across_files_and_defined_once() -> None:
    entries = "entries:\n  - {groups: fashion, welcomedm: {state: active}}\n"
    assert validate_sources([Source("groups.yaml", GROUPS), Source("dm.yaml", entries)]) == []
    (alone,) = validate_sources([Source("dm.yaml", entries)])
    assert str(alone).startswith("dm.yaml:2:14: unknown group `fashion`; no file loaded (dm.yaml) defines it")
    (twice,) = validate_sources([Source("a.yaml", GROUPS), Source("b.yaml", GROUPS)])
    assert str(twice) == ("b.yaml:2:3: group `fashion` is already defined at a.yaml:2:3; "
                          "files loaded together share one set of group names: rename one")


def test_problems_are_all_reported_in_file_then_line_order() -> None:
    broken = (
        "entries:\n  - groups: fashion\n    reactions: {state: on}\n  - groups: fashion\n    repost: {state: off}\n"
    )
    problems = validate_sources([Source("z.yaml", GROUPS), Source("a.yaml", broken), Source("m.yaml", "x: [")])
    assert [(p.file, p.line) for p in problems] == [("a.yaml", 3), ("a.yaml", 5), ("m.yaml", 1)]


def test_a_broken_file_does_not_cause_unknown_group_noise() -> None:
    entries = "entries:\n  - {groups: fashion, welcomedm: {state: active}}\n"
    problems = validate_sources([Source("groups.yaml", GROUPS + "  bad: [\n"), Source("dm.yaml", entries)])
    assert [p.file for p in problems] == ["groups.yaml"]


def test_open_settings_are_checked_against_the_live_fields() -> None:
    text = GROUPS + """entries:
  - groups: fashion
    reactions:
      settings: {likes_speed: 2, unfollow_limit: 100, likes_daily_limt: 50}
"""
    playbook = load_sources([Source("p.yaml", text)])
    live = ["likes_speed", "unfollow_limit", "likes_daily_limit"]
    assert check_live_settings(playbook, "reactions", live) == [Diagnostic(
        "p.yaml", 6, 55, "the live API has no Reactions Pro setting `likes_daily_limt`",
        "did you mean `likes_daily_limit`?", "reactions.settings.likes_daily_limt")]


def test_empty_task_name_and_valueless_targets_are_accepted() -> None:
    text = GROUPS + """entries:
  - groups: fashion
    leads: [{task_name: "", state: stopped}]
    reactions:
      targets: [explore, {type: feed}, timeline]
"""
    playbook = load_sources([Source("p.yaml", text)])
    targets = playbook.entries[0].spec.reactions.targets  # type: ignore[union-attr]
    assert [(t.type, t.value) for t in targets] == [("explore", "explore"), ("feed", "feed"), ("timeline", "timeline")]


def test_json_schema_describes_the_format() -> None:
    schema = json_schema()
    json.dumps(schema)
    assert set(schema["properties"]) == {"version", "groups", "policy", "captions", "entries"}
    reactions = schema["$defs"]["_ReactionsSettingsBase"] if "_ReactionsSettingsBase" in schema["$defs"] \
        else schema["$defs"]["ReactionsSettings"]
    assert reactions["properties"]["likes_speed"]["maximum"] == 5
