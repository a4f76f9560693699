"""The one spintax: the emulator renders as the server does, and draws as it always did.

The emulator used to resolve groups with a regular expression, innermost first, pass by pass;
seeded worlds (logs, the order of everything drawn after a spun text) depend on that order.
``orchestrator.text.spintax.spin`` must draw in the same order, checked here against that
former renderer on generated templates.
"""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.text import spintax

_GROUP = re.compile(r"\{([^{}]*\|[^{}]*)\}")


def former_spin(text: str, rng: random.Random) -> str:
    while True:
        text, n = _GROUP.subn(lambda m: rng.choice(m.group(1).split("|")), text)
        if n == 0:
            return text


def templates(depth: int = 3) -> st.SearchStrategy[str]:
    word = st.text(alphabet="abc ", max_size=4)
    if depth == 0:
        return word
    group = st.lists(templates(depth - 1), min_size=2, max_size=3).map(lambda xs: "{" + "|".join(xs) + "}")
    return st.lists(st.one_of(word, group), max_size=4).map("".join)


@settings(max_examples=300, deadline=None)
@given(templates(), st.integers(0, 2**32))
def test_spin_draws_in_the_former_order(text, seed):
    first, second = random.Random(seed), random.Random(seed)
    assert spintax.spin(text, first) == former_spin(text, second)
    assert first.random() == second.random()  # the same number of draws


def test_what_is_not_a_group_stays_as_written():
    rng = random.Random(1)
    assert spintax.spin("Hi {username}, {{original_caption}} a|b", rng) == "Hi {username}, {{original_caption}} a|b"
    assert spintax.spin("{a|a} {unclosed|x", rng) == "a {unclosed|x"
    assert spintax.spin("closed} {b|b}}", rng) == "closed} b}"


def test_balance_as_the_first_comment_validation_sees_it():
    assert spintax.balanced("{a|b} {} {{original_caption}}")
    assert not spintax.balanced("{a|b")
    assert not spintax.balanced("a}{")

