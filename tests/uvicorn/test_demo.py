"""The README's first command: the demo plans, applies and re-plans the example playbooks on the
embedded emulator (served by uvicorn on 127.0.0.1) and ends with nothing left to do."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from orchestrator.demo import run_demo

pytestmark = pytest.mark.uvicorn


async def test_demo_converges():
    out = io.StringIO()
    code = await run_demo(Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    assert code == 0, text
    assert "Valid: " in text
    assert "applied and verified" in text
    assert text.rstrip().count("No changes. The installation matches the playbooks.") == 1
    assert "sht_" not in text  # the demo keys are never printed
