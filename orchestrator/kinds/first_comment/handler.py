"""First Comment: an account's schedules, each matched to a live one by its set of target usernames.

The API has no name field, so a schedule's identity is the set of accounts it watches: a
playbook that changes a schedule's targets describes a new schedule (and, with ``prune``,
the old one is deleted).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import NotFound
from orchestrator.contract import Account, CommentScheduleDesired, FirstCommentDesired, Kind
from orchestrator.kinds.base import (
    ITEM,
    paths,
    PHASE_EDIT,
    PHASE_OFF,
    PHASE_ON,
    KindHandler,
    Live,
    Op,
    Operation,
    ReadContext,
    ReadResult,
    change,
    fleet_list,
)
from orchestrator.plan import Change


def _key(targets: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    return frozenset(str(t["username"]).casefold() for t in targets)


class FirstCommentKind(KindHandler):
    kind = Kind.FIRST_COMMENT
    changes = paths(create=f"schedules{ITEM}", delete=f"schedules{ITEM}",
                    update=rf"schedules{ITEM}\.(comments|comment_mode|targets)",
                    activate=rf"schedules{ITEM}\.state", pause=rf"schedules{ITEM}\.state")
    undeduplicated = frozenset({Op.CREATE})  # the server does not deduplicate creates

    async def read(self, ctx: ReadContext, accounts: Sequence[Account], desired: Mapping[int, Any]) -> ReadResult:
        found: dict[int, list[dict[str, Any]]] = {a: [] for a in desired}
        with fleet_list(f"{self.label} schedules"):
            async for s in ctx.client.first_comment.list_schedules():
                if s.account_id in desired:
                    found[s.account_id].append({
                        "id": s.id, "is_active": bool(s.is_active), "comment_mode": s.comment_mode,
                        "targets": [t.model_dump(include={"username", "user_pk"}) for t in s.targets],
                        "comments": list(s.comments),
                    })
        return ReadResult(live={a.id: {"schedules": sorted(found[a.id], key=lambda s: s["id"])}
                                for a in accounts if a.id in desired})

    def diff(self, account: Account, desired: FirstCommentDesired, live: Live) -> list[Change]:
        out: list[Change] = []
        remaining = sorted(live["schedules"], key=lambda s: s["id"])  # by id: the same plan whatever the read order
        for want in desired.schedules:
            hit = next((s for s in remaining if _key(s["targets"]) == want.match_key), None)
            if hit is None:
                out.append(self._create(account, want, desired.added_by.get(want.key)))
                continue
            remaining.remove(hit)
            out += self._update(account, want, hit)
        for withdrawn in () if desired.exact else desired.withdraw:
            # A closed window's schedule, named as its create was; kept by the planner only where
            # an apply created it for a window.
            gone = withdrawn.value
            hit = next((s for s in remaining if _key(s["targets"]) == gone.match_key), None)
            if hit is not None:
                remaining.remove(hit)
                out.append(change(account, self.kind, "delete", f"schedules[{gone.label}]", hit, None,
                                  str(withdrawn.source), ref=hit["id"], window=withdrawn.window))
        if desired.exact:
            for s in remaining:
                label = "[" + ", ".join(sorted(_key(s["targets"]))) + "]"
                out.append(
                    change(account, self.kind, "delete", f"schedules[{label}]", s, None, desired.prune, ref=s["id"])
                )
        return out

    def _create(self, account: Account, want: CommentScheduleDesired, window: str | None = None) -> Change:
        body = {
            "targets": [t.as_api() for t in want.targets.value],  # type: ignore[union-attr]
            "comments": list(want.comments.value) if want.comments else [],
            "comment_mode": want.mode.value if want.mode else "random",
            "is_active": want.state is None or want.state.value == "active",
        }
        return change(account, self.kind, "create", f"schedules[{want.label}]", None, body, str(want.source),
                      window=window)

    def _update(self, account: Account, want: CommentScheduleDesired, live: dict[str, Any]) -> list[Change]:
        out = []
        base = f"schedules[{want.label}]"
        if want.comments is not None and list(want.comments.value) != live["comments"]:
            out.append(change(account, self.kind, "update", f"{base}.comments", live["comments"],
                              list(want.comments.value), want.comments, ref=live["id"]))
        if want.mode is not None and want.mode.value != live["comment_mode"]:
            out.append(change(account, self.kind, "update", f"{base}.comment_mode", live["comment_mode"],
                              want.mode.value, want.mode, ref=live["id"]))
        if want.targets is not None:
            desired_pks = {t.username.casefold(): t.user_pk for t in want.targets.value if t.user_pk}
            live_pks = {str(t["username"]).casefold(): t.get("user_pk") for t in live["targets"]}
            if any(live_pks.get(u) != pk for u, pk in desired_pks.items()):
                out.append(change(account, self.kind, "update", f"{base}.targets", live["targets"],
                                  [t.as_api() for t in want.targets.value], want.targets, ref=live["id"]))
        if want.state is not None and (want.state.value == "active") != live["is_active"]:
            action = "activate" if want.state.value == "active" else "pause"
            out.append(change(account, self.kind, action, f"{base}.state", "active" if live["is_active"] else "paused",
                              want.state.value, want.state, ref=live["id"]))
        return out

    def operations(self, changes: Sequence[Change]) -> list[Operation]:
        ops: list[Operation] = []
        updates: dict[int, list[Change]] = {}
        for c in changes:
            if c.action == "update":
                updates.setdefault(c.ref, []).append(c)
            elif c.action == "create":
                ops.append(Operation(self.kind, c.account_id, Op.CREATE, (c,), PHASE_EDIT, args=dict(c.after)))
            elif c.action == "delete":
                ops.append(Operation(self.kind, c.account_id, Op.DELETE, (c,), PHASE_EDIT, args={"schedule_id": c.ref}))
            else:
                ops.append(Operation(self.kind, c.account_id, Op(c.action), (c,),
                                     PHASE_ON if c.action == "activate" else PHASE_OFF,
                                     args={"schedule_id": c.ref}))
        for schedule_id, group in updates.items():
            fields = {c.path.rsplit(".", 1)[1]: c.after for c in group}
            ops.append(Operation(self.kind, group[0].account_id, Op.UPDATE, tuple(group), PHASE_EDIT,
                                 args={"schedule_id": schedule_id, "fields": fields}))
        return ops

    async def recover(self, client: SharingtoolsClient, op: Operation) -> bool:
        if op.name != Op.CREATE:
            return False
        found = await client.first_comment.find_schedule(op.account_id, op.args["targets"], op.args["comments"])
        return found is not None

    async def execute(self, client: SharingtoolsClient, op: Operation) -> None:
        api = client.first_comment
        match op.name:
            case Op.CREATE:
                a = op.args
                await api.create_schedule(op.account_id, a["targets"], a["comments"], comment_mode=a["comment_mode"],
                                          is_active=a["is_active"])
            case Op.UPDATE:
                await api.update_schedule(int(op.args["schedule_id"]), **op.args["fields"])
            case Op.DELETE:
                # gone already: a repeated delete whose first answer was lost; verify confirms
                with contextlib.suppress(NotFound):
                    await api.delete_schedule(int(op.args["schedule_id"]))
            case Op.ACTIVATE:
                await api.activate(int(op.args["schedule_id"]))
            case Op.PAUSE:
                await api.pause(int(op.args["schedule_id"]))
            case _:  # pragma: no cover - operations() makes only the names above
                raise ValueError(op.name)



