"""Spintax: balance, nesting, placeholders."""

from __future__ import annotations

import random

import pytest

from orchestrator.playbook import spintax


@pytest.mark.parametrize("text", [
    "plain text", "{Hi|Hello} there", "{a|{b|c}} d", "{{original_caption}} {Via|Credit}", "{|optional} x",
    "a | b outside a group", "{single}",
])
def test_well_formed(text: str) -> None:
    assert spintax.check(text) is None


@pytest.mark.parametrize("text, offset, message", [
    ("{Hi|Hello there", 0, "never closed"),
    ("Hi} there", 2, "never opened"),
    ("{a|{b|c} d", 0, "never closed"),
    ("x {} y", 2, "empty spintax group"),
    ("{{original_caption} {a|b}", 0, "never closed"),
])
def test_problems_point_at_the_brace(text: str, offset: int, message: str) -> None:
    problem = spintax.check(text)
    assert problem is not None and problem.offset == offset and message in problem.message


def test_variants_and_spin() -> None:
    text = "{Hi|Hello|Hey} {there|{friend|pal}} {{original_caption}}"
    assert spintax.variant_count(text) == 9
    rendered = {spintax.spin(text, random.Random(seed)) for seed in range(200)}
    assert len(rendered) == 9
    assert all(r.endswith("{{original_caption}}") for r in rendered)
