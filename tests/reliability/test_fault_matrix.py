"""The fault matrix: each fault the emulator injects, alone, then all together, over a few
hundred accounts. Every run ends applied (exit 0) or partial with its failures named (exit 4),
never with an exception; a second, fault-free apply converges; nothing is made twice.

Virtual time: retry waits and the rate limiter cost nothing, so the matrix is about behaviour.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import pytest

from orchestrator import playbook
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.apply.run import EXIT_PARTIAL, ApplyOptions, apply
from orchestrator.planning.planner import build_plan
from tests.harness import VirtualTime
from tests.harness import client_for, executor_for, failures_of, stored, write_playbook

ACCOUNTS = 150
PLAYBOOK = """\
version: 1
groups:
  scale:
    usernames: "*_s0*"
entries:
  - groups: scale
    reactions:
      state: active
      settings:
        likes_speed: 3
      targets:
        - hashtag: matrix
    first_comment:
      schedules:
        - name: matrix
          targets: [matrixbrand]
          comments: ["{Nice|Great} post"]
captions:
  library:
    Matrix caption: "Caption {a|b}"
"""
ERRORS = {"429": 1, "500": 1, "502": 1, "503": 1}
MATRIX: dict[str, dict[str, Any]] = {
    "429 with Retry-After": {"error_rate": 0.15, "error_statuses": {"429": 1}, "retry_after": 3},
    "500": {"error_rate": 0.15, "error_statuses": {"500": 1}},
    "502": {"error_rate": 0.15, "error_statuses": {"502": 1}},
    "503": {"error_rate": 0.15, "error_statuses": {"503": 1}},
    "dropped connections": {"drop_rate": 0.1},
    "lost answers": {"lost_response_rate": 0.1},
    "all together (10% 429, 10% 503, 5% dropped, 5% lost)": {
        "error_rate": 0.2, "error_statuses": {"429": 1, "503": 1}, "retry_after": 2,
        "drop_rate": 0.05, "lost_response_rate": 0.05},
}


def _dupes(counter: Counter) -> list:
    return [k for k, n in counter.items() if n > 1]


@pytest.mark.parametrize("fault", list(MATRIX))
async def test_each_fault_alone_and_all_together(tmp_path, fault: str):
    emu = LocalEmulator(f"accounts={ACCOUNTS if 'together' not in fault else 2 * ACCOUNTS}")
    book = playbook.load([str(write_playbook(tmp_path, PLAYBOOK))])
    time = VirtualTime()
    async with emu.control() as control:
        (await control.put("/faults", json={"seed": 11, **MATRIX[fault]})).raise_for_status()
        async with client_for(emu, time=time) as client:
            with anyio.fail_after(240):  # a bound on a hang, not a timing assertion
                outcome = await apply(client, book, ApplyOptions(waves=1), executor=executor_for(client))
        (await control.delete("/faults")).raise_for_status()
        assert outcome.exit_code in (0, EXIT_PARTIAL), failures_of(outcome)
        if outcome.exit_code == EXIT_PARTIAL:
            assert outcome.execution.failures or outcome.unverified, failures_of(outcome)
        async with client_for(emu) as client:
            again = await apply(client, book, ApplyOptions(waves=1), executor=executor_for(client))
            final = await build_plan(client, book)
        assert again.exit_code == 0, failures_of(again)
        assert final.ok and final.plan.empty

        schedules = await stored(control, "reactions_schedules")
        for s in schedules:
            assert not _dupes(Counter((t["type"], t["value"]) for t in s["targets"])), s["account_id"]
        assert not _dupes(Counter(c["title"] for c in await stored(control, "captions")))
        comments = await stored(control, "first_comment_schedules")
        assert not _dupes(Counter((c["account_id"], frozenset(t["username"] for t in c["targets"]))
                                  for c in comments))
