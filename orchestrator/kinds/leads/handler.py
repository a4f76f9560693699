"""Leads Finder: each of an account's scraping schedules running or stopped, by ``task_name``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.api import SharingtoolsClient
from orchestrator.contract import Account, Kind, LeadsDesired
from orchestrator.kinds.base import (
    ITEM,
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


class LeadsKind(KindHandler):
    kind = Kind.LEADS
    changes = paths(start=rf"tasks{ITEM}\.state", stop=rf"tasks{ITEM}\.state")

    async def read(self, ctx: ReadContext, accounts: Sequence[Account], desired: Mapping[int, Any]) -> ReadResult:
        found: dict[int, list[dict[str, Any]]] = {}
        with fleet_list(f"{self.label} schedules"):
            async for s in ctx.client.leads.list_schedules():
                if s.account_id in desired:
                    found.setdefault(s.account_id, []).append(
                        {"id": s.id, "task_name": s.task_name, "is_active": bool(s.is_active),
                         "is_running": bool(s.is_running)})
        result = ReadResult()
        for account in accounts:
            if account.id not in desired:
                continue
            if account.id not in found:
                result.problems.append(AccountIssue(
                    account.id, account.username, self.kind,
                    "has no Leads Finder schedule (create it in the web panel, or exclude the account)"))
            else:
                result.live[account.id] = {"tasks": sorted(found[account.id], key=lambda t: t["id"])}
        return result

    def diff(self, account: Account, desired: LeadsDesired, live: Live) -> list[Change]:
        out = []
        for task in live["tasks"]:
            want = desired.state_for(task["task_name"])
            if want is None:
                continue  # a task the playbook does not name, and no catch-all: not managed
            running = task["is_active"]
            stopped = not task["is_active"] and not task["is_running"]
            label = task["task_name"] or f"#{task['id']}"
            if want.value == "running" and not running:
                out.append(change(account, self.kind, "start", f"tasks[{label}].state", "stopped", "running", want,
                                  ref=task["id"]))
            elif want.value == "stopped" and not stopped:
                out.append(change(account, self.kind, "stop", f"tasks[{label}].state", "running", "stopped", want,
                                  ref=task["id"]))
        return out

    def operations(self, changes: Sequence[Change]) -> list[Operation]:
        return [Operation(self.kind, c.account_id, Op(c.action), (c,), PHASE_ON if c.action == "start" else PHASE_OFF,
                          args={"schedule_id": c.ref}) for c in changes]

    async def execute(self, client: SharingtoolsClient, op: Operation) -> None:
        api = client.leads
        switch = {Op.START: api.start, Op.STOP: api.stop}[op.name]
        await switch(int(op.args["schedule_id"]))
