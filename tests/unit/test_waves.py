"""``waves_of``, ``parse_waves`` and ``parse_limit``: how an apply is cut into waves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.apply.policy import PolicyError, parse_limit, parse_waves, waves_of


@pytest.mark.parametrize(("spec", "total", "sizes"), [
    (None, 200, [200]),
    ([], 200, [200]),
    ("1,10%,100%", 200, [1, 20, 200]),
    ("1,5,10%", 200, [1, 5, 20, 200]),          # the last wave is always everything
    ("10,5", 200, [10, 200]),                   # a size that does not grow adds no wave
    ("50%", 3, [1, 3]),                         # a percentage rounds down
    ("1%", 10, [1, 10]),                        # and never gives an empty wave
    ("500", 20, [20]),                          # a count past the total is the total
    (3, 10, [4, 7, 10]),                        # n equal waves
    (0, 10, [10]),
    ("1,100%", 0, [0]),
])
def test_waves(spec: object, total: int, sizes: list[int]) -> None:
    limits = parse_waves(spec) if isinstance(spec, str) else spec
    assert waves_of(limits, total) == sizes  # type: ignore[arg-type]


@given(st.lists(st.integers(0, 300), max_size=6), st.integers(0, 2000))
def test_waves_grow_and_end_with_every_account(counts: list[int], total: int) -> None:
    sizes = waves_of(parse_waves(",".join(map(str, counts))) if counts else None, total)
    assert sizes[-1] == total
    assert sizes == sorted(set(sizes))


@pytest.mark.parametrize(("text", "amount", "percent"), [("10", 10, False), ("0", 0, False), ("5%", 5.0, True),
                                                          (" 100% ", 100.0, True), ("0.5%", 0.5, True)])
def test_limits_parse(text: str, amount: float, percent: bool) -> None:
    limit = parse_limit(text, "--max-fail")
    assert (limit.amount, limit.percent) == (amount, percent)


@pytest.mark.parametrize("text", ["", "-1", "ten", "101%", "-5%", "1.5", "%", "1e9x"])
def test_bad_limits_name_the_option(text: str) -> None:
    with pytest.raises(PolicyError, match="^--max-fail: .* is not a count or a percentage"):
        parse_limit(text, "--max-fail")
