"""The README's first command: the demo plans, applies and re-plans the example playbooks on the
embedded emulator (served by uvicorn on 127.0.0.1, on its live clock with the engine running)
and ends with nothing left to do but the blocked changes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from orchestrator.cli.demo import run_demo

pytestmark = pytest.mark.uvicorn


async def test_demo_converges():
    out = io.StringIO()
    code = await run_demo(Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    assert code == 0, text
    assert "Valid: " in text
    assert "applied and verified" in text
    # The content calendar: one scheduled post per fashion account, each post one line.
    assert "+ posts[winter-teaser] on 8 accounts: fashion" in text
    # On the live clock the engine switches off the schedules of accounts that need a new login:
    # the second plan has no changes, and names those activations as blocked.
    assert text.rstrip().count("No changes. The installation matches the playbooks") == 1
    blocked = text[text.index("No changes. The installation matches the playbooks"):]
    for name in ("food_vegan", "fitness_lift"):
        assert f"{name} needs a new Instagram login: its schedules would be switched off" in blocked
    assert "food_kitchen's AI-DM schedule has no OpenAI API key" in blocked
    assert "sht_" not in text  # the demo keys are never printed
