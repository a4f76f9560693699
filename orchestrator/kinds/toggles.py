"""Welcome DM and AI-DM: schedules that are only switched on or off here.

Their endpoints take a schedule id (not an account id), so both kinds read the schedule list
once and switch each of an account's schedules that is not in the desired state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.api import SharingtoolsClient
from orchestrator.contract import Account, ToggleDesired
from orchestrator.kinds.base import (
    paths,
    PHASE_OFF,
    PHASE_ON,
    KindHandler,
    Live,
    Op,
    Operation,
    AccountIssue,
    ReadContext,
    ReadResult,
    change,
    fleet_list,
)
from orchestrator.plan import Change


class ToggleKind(KindHandler):
    """A module with one schedule per account that is only switched on or off."""

    resource: str
    changes = paths(activate=r"state|schedules\[[0-9]+\]\.state", pause=r"state|schedules\[[0-9]+\]\.state")

    def api(self, client: SharingtoolsClient) -> Any:
        return getattr(client, self.resource)

    async def read(self, ctx: ReadContext, accounts: Sequence[Account], desired: Mapping[int, Any]) -> ReadResult:
        found: dict[int, list[dict[str, Any]]] = {}
        with fleet_list(f"{self.label} schedules"):
            async for schedule in self.api(ctx.client).list_schedules():
                if schedule.account_id in desired:
                    entry = {"id": schedule.id, "is_active": bool(schedule.is_active)}
                    settings = getattr(schedule, "settings", None)
                    if getattr(settings, "api_key_configured", None) is False:
                        entry["api_key_configured"] = False  # the engine switches such a schedule off (blockers)
                    found.setdefault(schedule.account_id, []).append(entry)
        result = ReadResult()
        for account in accounts:
            if account.id not in desired:
                continue
            if account.id not in found:
                result.problems.append(AccountIssue(
                    account.id, account.username, self.kind,
                    f"has no {self.label} schedule (create it in the web panel, or exclude the account)"))
            else:
                result.live[account.id] = {"schedules": sorted(found[account.id], key=lambda s: s["id"])}
        return result

    def diff(self, account: Account, desired: ToggleDesired, live: Live) -> list[Change]:
        want = desired.state.value == "active"
        schedules = live["schedules"]
        out = []
        for s in schedules:
            if s["is_active"] != want:
                path = "state" if len(schedules) == 1 else f"schedules[{s['id']}].state"
                out.append(change(account, self.kind, "activate" if want else "pause", path,
                                  "active" if s["is_active"] else "paused", desired.state.value, desired.state,
                                  ref=s["id"]))
        return out

    def operations(self, changes: Sequence[Change]) -> list[Operation]:
        return [Operation(self.kind, c.account_id, Op(c.action), (c,),
                          PHASE_ON if c.action == "activate" else PHASE_OFF, args={"schedule_id": c.ref})
                for c in changes]

    async def execute(self, client: SharingtoolsClient, op: Operation) -> None:
        api = self.api(client)
        switch = {Op.ACTIVATE: api.activate, Op.PAUSE: api.pause}[op.name]
        await switch(int(op.args["schedule_id"]))
