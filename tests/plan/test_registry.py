"""The kinds registry the planner and the executor are given."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.apply.saved_plan import KNOWN_CHANGES
from orchestrator.contract import ACCOUNT_KINDS, KINDS, Kind
from orchestrator.contract.kinds import info
from orchestrator.contract.vocabulary import Action
from orchestrator.kinds import KindRegistry
from orchestrator.plan.blocked import REASONS
from orchestrator.plan.schema import plan_schema, schema_text
from orchestrator.playbook.schema import EntrySpec
from orchestrator.kinds.reactions import ReactionsKind


def test_the_default_registry_knows_every_kind_in_plan_order():
    kinds = KindRegistry.default()
    assert list(kinds) == list(Kind) and len(kinds) == len(Kind)
    assert all(kinds[kind].kind is kind for kind in kinds)


def test_with_handler_replaces_one_kind_in_a_copy():
    class Quiet(ReactionsKind):
        pass

    default = KindRegistry.default()
    custom = default.with_handler(Quiet())
    assert isinstance(custom[Kind.REACTIONS], Quiet)
    assert not isinstance(default[Kind.REACTIONS], Quiet)  # the original is untouched
    assert custom[Kind.REPOST] is default[Kind.REPOST]


def test_two_handlers_for_one_kind_are_refused():
    with pytest.raises(ValueError, match="two handlers for kind reactions"):
        KindRegistry([ReactionsKind(), ReactionsKind()])
    assert Kind.REPOST not in KindRegistry([ReactionsKind()])


# -- one kind, one package: what is derived from the registry --------------------------------
ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "orchestrator"


def test_the_shipped_plan_schema_names_exactly_the_kinds_actions_and_reasons():
    schema = plan_schema()
    assert schema["$defs"]["kind"]["enum"] == [k.value for k in Kind]
    assert schema["$defs"]["action"]["enum"] == [a.value for a in Action]
    assert schema["$defs"]["reason"]["enum"] == list(REASONS)
    change = schema["$defs"]["change"]["properties"]
    assert change["kind"] == {"$ref": "#/$defs/kind"} and change["action"] == {"$ref": "#/$defs/action"}


def test_the_published_plan_schema_is_the_generated_one():
    published = (ROOT / "docs" / "plan-schema.json").read_text(encoding="utf-8")
    assert published == schema_text(), "regenerate: python -m orchestrator.plan.schema > docs/plan-schema.json"


def test_every_kind_says_what_changes_it_makes_and_each_maps_to_an_action():
    kinds = KindRegistry.default()
    for kind in kinds:
        assert kinds[kind].changes, kind
        assert all(isinstance(action, Action) for action in kinds[kind].changes)
        assert KNOWN_CHANGES[kind.value] == {a.value: p for a, p in kinds[kind].changes.items()}


def test_every_kind_has_its_facts_a_package_and_a_label():
    assert [i.kind for i in KINDS] == list(Kind)
    for kind in Kind:
        assert (PACKAGE / "kinds" / kind.value / "__init__.py").is_file(), kind
        assert KindRegistry.default()[kind].label == info(kind).label


def test_a_kind_is_named_only_in_its_package_the_api_the_emulator_and_the_registries():
    """The playbook, planning, apply, state, render, importer and the command line ask the
    registry of kinds (its facts, its shapes) instead of naming a kind: one folder per kind."""
    allowed = ("kinds/welcomedm/", "api/", "emulator/", "contract/kinds.py", "kinds/registry.py")
    named = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*")
                   if path.is_file() and path.suffix in (".py", ".json", ".html", ".yaml", ".txt")
                   and "welcomedm" in path.read_text(encoding="utf-8").lower()
                   and not str(path.relative_to(PACKAGE)).startswith(allowed))
    assert named == []


def test_the_entry_spec_has_a_field_per_account_kind_from_the_registry():
    fields = [f for f in EntrySpec.model_fields if f not in ("name", "groups", "when")]
    assert fields == [k.value for k in ACCOUNT_KINDS]
