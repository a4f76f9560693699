"""A loaded value carries its position in the models themselves: `Sourced` from loading to the plan."""

from __future__ import annotations

from orchestrator.contract import Position, Sourced
from orchestrator.playbook import Source, load_sources
from orchestrator.playbook.loader import parse
from orchestrator.playbook.positions import NodeList, NodeMap
from orchestrator.playbook.schema import EntrySpec, PlaybookSpec, PolicySpec
from orchestrator.playbook.sourcing import UNKNOWN, sourced_fields
from tests.playbook.conftest import book

TEXT = """\
groups: {g: {all: true}}
policy:
  max_pauses: 3
captions:
  prune: true
  library:
    Sale: "{Big|Huge} sale"
    2024: yearly
entries:
  - groups: g
    reactions:
      state: active
      prune: false
      settings:
        likes_speed: 4
        custom_field: 7
      targets:
        - explore
        - {type: hashtag, value: summer}
    leads: [{task_name: t, state: stopped}]
    account: {password: {env: PW}}
    first_comment:
      schedules:
        - name: launch
          targets: [nike]
          comments: [hello]
          mode: random
"""


def at(line: int, col: int) -> Position:
    return Position("p.yaml", line, col)


def test_the_loader_keeps_each_childs_position_in_the_plain_containers() -> None:
    parsed = parse(Source("p.yaml", TEXT))
    assert not isinstance(parsed, type(None)) and hasattr(parsed, "data")
    data = parsed.data  # type: ignore[union-attr]
    assert isinstance(data, NodeMap) and data.positions["entries"] == at(10, 3)
    targets = data["entries"][0]["reactions"]["targets"]
    assert isinstance(targets, NodeList) and targets == ["explore", {"type": "hashtag", "value": "summer"}]
    assert targets.positions == [at(18, 11), at(19, 11)]


def test_model_fields_hold_sourced_values_at_the_value_position() -> None:
    playbook = load_sources([Source("p.yaml", TEXT)])
    spec = playbook.entries[0].spec
    assert spec.reactions is not None and spec.reactions.settings is not None
    settings = spec.reactions.settings.sourced()
    assert settings["likes_speed"] == Sourced(4, at(15, 22))
    # An open module's unlisted field keeps its position too (it is checked live, at plan time).
    assert settings["custom_field"] == Sourced(7, at(16, 23))
    assert spec.reactions.settings.as_dict() == {"likes_speed": 4, "custom_field": 7}
    assert spec.reactions.state == Sourced("active", at(12, 14))
    assert spec.reactions.prune == Sourced(False, at(13, 14))
    assert [(t.type, t.source) for t in spec.reactions.targets or ()] == [("explore", at(18, 11)),
                                                                         ("hashtag", at(19, 11))]
    assert [item.state for item in spec.leads_items] == [Sourced("stopped", at(20, 35))]
    assert spec.account is not None and spec.account.password is not None
    assert spec.account.password.source == at(21, 25)
    assert spec.first_comment is not None
    (schedule,) = spec.first_comment.schedules
    assert schedule.source == at(24, 11)
    assert schedule.targets is not None and schedule.targets.source == at(25, 20)
    assert [t.username for t in schedule.targets.value] == ["nike"]
    assert schedule.comments == Sourced(["hello"], at(26, 21))
    assert schedule.mode == Sourced("random", at(27, 17))


def test_captions_and_policy_are_sourced_by_the_models() -> None:
    playbook = load_sources([Source("p.yaml", TEXT)])
    (block,) = playbook.captions
    # A numeric title is text; its position is still the one of its value.
    assert block.spec.library == {"Sale": Sourced("{Big|Huge} sale", at(7, 11)), "2024": Sourced("yearly", at(8, 11))}
    assert block.spec.prune == Sourced(True, at(5, 10))
    assert playbook.policy.max_pauses is not None and playbook.policy.max_pauses.source == at(3, 15)


def test_merge_keys_point_at_the_merge_and_the_desired_state_agrees() -> None:
    playbook = book("""
        groups: {g: {all: true}}
        entries:
          - groups: g
            reactions:
              settings: &slow {likes_speed: 1, daily_pause: true}
          - groups: g
            reactions:
              settings:
                <<: *slow
                likes_speed: 2
        """)
    settings = playbook.entries[1].spec.reactions.settings.sourced()  # type: ignore[union-attr]
    # A merged-in key has no line of its own: it carries the position of the mapping it is merged into.
    assert str(settings["daily_pause"].source) == "a.yaml:10:9"
    assert str(settings["likes_speed"].source) == "a.yaml:11:22"


def test_models_validated_from_plain_data_say_the_position_is_unknown() -> None:
    entry = EntrySpec.model_validate({"groups": "g", "welcomedm": {"state": "active"}})
    assert entry.welcomedm is not None and entry.welcomedm.state == Sourced("active", UNKNOWN)
    spec = PlaybookSpec.model_validate({"entries": [{"groups": "g", "reactions": {"targets": ["explore"]}}]})
    assert spec.entries[0].reactions.targets[0].source == UNKNOWN  # type: ignore[union-attr,index]


def test_every_policy_limit_is_sourced() -> None:
    # `Policy` holds `Sourced` limits taken from the model as they are: a new field must be one too.
    assert sourced_fields(PolicySpec) == set(PolicySpec.model_fields)
