"""Playbook tests: pure functions, no emulator. The demo world's accounts as plain data."""

from __future__ import annotations

import textwrap

import pytest

from orchestrator.contract import Account
from orchestrator.playbook import Playbook, Source, load_sources

DEMO_USERNAMES = [
    "fashion_nova", "fashion_luxe", "fashion_atelier", "fashion_street", "fashion_vogue", "fashion_muse",
    "fashion_trend", "fashion_chic", "fitness_lift", "fitness_core", "fitness_flex", "fitness_pulse",
    "fitness_stride", "fitness_burn", "fitness_yoga", "food_kitchen", "food_bites", "food_vegan",
    "food_grill", "food_bakes", "food_spice", "travel_nomad", "travel_wander", "travel_coast", "travel_peak",
]
#: alice's accounts in the emulator's demo world: ids 1-25.
DEMO_ACCOUNTS = tuple(Account(i, name) for i, name in enumerate(DEMO_USERNAMES, start=1))


@pytest.fixture
def accounts() -> tuple[Account, ...]:
    return DEMO_ACCOUNTS


def book(*texts: str) -> Playbook:
    """A playbook from dedented texts named a.yaml, b.yaml, ... in that order."""
    return load_sources(Source(f"{chr(ord('a') + i)}.yaml", textwrap.dedent(t)) for i, t in enumerate(texts))
