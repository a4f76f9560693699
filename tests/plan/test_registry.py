"""The kinds registry the planner and the executor are given."""

from __future__ import annotations

import pytest

from orchestrator.contract import Kind
from orchestrator.kinds import KindRegistry, ReactionsKind


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
