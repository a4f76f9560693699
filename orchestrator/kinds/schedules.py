"""Reactions Pro and Repost Pro: one schedule per account with a state, settings and targets.

Reads: the schedule list once (100 a page) for every state, and for targets when the list
embeds them (the emulator's does; a server whose list does not is read per account, see
``_targets``); settings per account, only for accounts whose playbook names settings. When the
list itself cannot be read, no account's schedule is known (`FleetReadFailed`): never "has
no schedule", which only a list read in full, or an account's own 404, says.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import Conflict, NotFound, UnexpectedAnswer
from orchestrator.contract import Account, ResolvedSecret, ScheduleDesired, SecretRef, Target
from orchestrator.contract.target_types import TARGET_TYPES, ValueKind
from orchestrator.api.fanout import closing, each, each_streamed
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
    AccountIssue,
    ReadContext,
    ReadResult,
    change,
    fleet_list,
    same,
)
from orchestrator.kinds.secret_values import SECRET_FIELD, reference, resolve_fields, resolve_secret, shown
from orchestrator.log import MASK
from orchestrator.plan import Change, fingerprint

CASELESS = (ValueKind.HASHTAG, ValueKind.USERNAME, ValueKind.REGION)


class ScheduleKind(KindHandler):
    """Shared by ``ReactionsKind`` and ``RepostKind``; they name their client resource."""

    resource: str  # attribute of SharingtoolsClient
    changes = paths(activate="state", pause="state", update=r"settings\.[A-Za-z0-9_]+", add=f"targets{ITEM}",
                    remove=f"targets{ITEM}")

    def api(self, client: SharingtoolsClient) -> Any:
        return getattr(client, self.resource)

    # -- read ---------------------------------------------------------------------------------
    async def read(self, ctx: ReadContext, accounts: Sequence[Account], desired: Mapping[int, Any]) -> ReadResult:
        api = self.api(ctx.client)
        wanted = [a for a in accounts if a.id in desired]
        found: dict[int, Live] = {}
        fingerprints: dict[int, str] = {}
        fields: dict[int, tuple[str, ...]] = {}  # the settings' names each account's answer had
        known_fields: dict[tuple[str, ...], tuple[str, ...]] = {}

        async def details(account: Account, schedule: Any) -> None:
            # Started as soon as the account's schedule is known, not once the whole list is in:
            # the per-account reads then fill the rate budget while list pages still arrive.
            if schedule.is_active is None:  # read as paused, the plan would activate it
                raise UnexpectedAnswer(f"a schedule of account {account.id} without is_active: whether it runs "
                                       "is unknown", method="GET", path=f"{api.prefix}/schedules", status=200)
            live: Live = {"state": "active" if schedule.is_active else "paused"}
            found[account.id] = live
            want = desired[account.id]
            if want.settings:
                live["settings"] = settings = await api.get_settings(account.id)
                keys = tuple(settings)
                fields[account.id] = known_fields.setdefault(keys, keys)  # one tuple for all alike
            if want.targets is not None or want.withdraw:
                live["targets"] = [t.model_dump() for t in (
                    schedule.targets if "targets" in schedule.model_fields_set else await api.list_targets(account.id))]
            # The fingerprint is of the state as read; of the settings, only what the diff compares
            # is kept: the whole answer is ~100 objects an account (most fields never managed),
            # which held for every account was most of a large plan's memory.
            fingerprints[account.id] = fingerprint(live)
            if want.settings:
                live["settings"] = {k: v for k, v in live["settings"].items() if k in want.settings}

        async def one(account: Account) -> None:
            schedule = None
            with contextlib.suppress(NotFound):
                schedule = await api.get_schedule(account.id)
            if schedule is not None:
                await details(account, schedule)

        failure: Exception | None = None

        async def listed() -> AsyncIterator[tuple[Account, Any]]:
            nonlocal failure
            pending: dict[int, Account] = {a.id: a for a in wanted}
            try:
                with fleet_list(f"{self.label} schedules"):
                    async with closing(api.list_schedules()) as schedules:
                        async for schedule in schedules:
                            owner = pending.pop(schedule.account_id, None)
                            if owner is not None:
                                yield owner, schedule
            except Exception as exc:
                # The list's own error reaches the planner as itself (a module the server lacks)
                # or as the list's (`FleetReadFailed`: no account's schedule is known), as when
                # the list was read before any detail, not in a group.
                failure = exc

        workers = ctx.client.transport.workers
        if ctx.few(len(wanted)):
            await each(wanted, one, workers=workers)
        else:
            await each_streamed(listed(), lambda pair: details(*pair), workers=workers)
        if failure is not None:
            raise failure
        result = ReadResult()
        for account in wanted:
            live = found.get(account.id)
            if live is None:
                result.problems.append(AccountIssue(
                    account.id, account.username, self.kind,
                    f"has no {self.label} schedule (the API cannot create one: create it in the web panel, "
                    "or exclude the account from this entry)"))
                continue
            result.live[account.id] = live
            result.fingerprints[account.id] = fingerprints[account.id]
            if result.settings_fields is None and account.id in fields:
                result.settings_fields = fields[account.id]
        return result

    def resolve(self, desired: ScheduleDesired) -> ScheduleDesired:
        """Settings written as a secret reference (``custom_proxy: {env: X}``), read before the
        diff and registered for redaction: compared resolved, shown and carried as the reference."""
        if not any(isinstance(want.value, SecretRef) for want in desired.settings.values()):
            return desired
        settings = {name: replace(want, value=resolve_secret(want)) if isinstance(want.value, SecretRef) else want
                    for name, want in desired.settings.items()}
        return replace(desired, settings=settings)

    # -- diff (pure) --------------------------------------------------------------------------
    def diff(self, account: Account, desired: ScheduleDesired, live: Live) -> list[Change]:
        changes: list[Change] = []
        if desired.state is not None and desired.state.value != live["state"]:
            action = "activate" if desired.state.value == "active" else "pause"
            changes.append(
                change(account, self.kind, action, "state", live["state"], desired.state.value, desired.state)
            )
        settings = live.get("settings", {})
        for name, want in sorted(desired.settings.items()):
            have = settings.get(name)
            if isinstance(want.value, ResolvedSecret):
                if name not in settings or have != want.value.value:
                    changes.append(change(account, self.kind, "update", f"settings.{name}", MASK if have else have,
                                          shown(want.value), want, ref={SECRET_FIELD: reference(want.value)}))
            elif name not in settings or not same(have, want.value):
                changes.append(change(account, self.kind, "update", f"settings.{name}", have, want.value, want))
        if desired.targets is not None or desired.withdraw:
            changes += self._diff_targets(account, desired, live.get("targets", []))
        return changes

    def _diff_targets(self, account: Account, desired: ScheduleDesired, live: list[dict[str, Any]]) -> list[Change]:
        out: list[Change] = []
        matched: set[int] = set()
        # By row id, so which of two live targets a desired one matches never depends on read order.
        live = sorted(live, key=lambda t: (t.get("target_id") is None, t.get("target_id") or 0))
        found: set[int] = set()  # live targets some desired target matched
        added: list[dict[str, Any]] = []
        for sourced in desired.targets or ():
            t: Target = sourced.value
            hit = next((i for i, lt in enumerate(live) if i not in matched and self.matches(t, lt)), None)
            if hit is not None:
                matched.add(hit)
                found.add(hit)
                continue
            if any(self.matches(t, live[i]) for i in found) or any(self.matches(t, new) for new in added):
                continue  # one target spelled twice (`1,2` and `1, 2`): the server stores it once
            # The server keys targets by (type, value): one with this value but another id (the
            # playbook corrected a location id, say) must go first, or the add answers 409.
            stale = next((i for i, lt in enumerate(live) if i not in matched and lt.get("type") == t.type
                          and self._norm(t.type, lt.get("value")) == self._norm(t.type, t.value)), None)
            if stale is not None:
                matched.add(stale)
                lt = live[stale]
                out.append(change(account, self.kind, "remove", f"targets[{lt['type']}:{lt.get('value')}]",
                                  _public_target(lt), None, sourced, ref=lt.get("target_id")))
            body = _body(t)
            added.append(body)
            out.append(change(account, self.kind, "add", f"targets[{t.type}:{t.value}]", None, body, sourced,
                              window=desired.added_by.get(t.key)))
        for withdrawn in () if desired.exact else desired.withdraw:
            # A closed window's target, named as its add was (the state database's claims match
            # that path); the planner keeps the removal only where an apply added it for a window.
            t = withdrawn.value
            hit = next((i for i, lt in enumerate(live) if i not in matched and self.matches(t, lt)), None)
            if hit is not None:
                matched.add(hit)
                out.append(change(account, self.kind, "remove", f"targets[{t.type}:{t.value}]",
                                  _public_target(live[hit]), None, str(withdrawn.source),
                                  ref=live[hit].get("target_id"), window=withdrawn.window))
        if desired.exact:
            for i, lt in enumerate(live):
                if i not in matched:
                    out.append(change(account, self.kind, "remove", f"targets[{lt['type']}:{lt.get('value')}]",
                                      _public_target(lt), None, desired.prune, ref=lt.get("target_id")))
        return out

    def matches(self, want: Target, live: Mapping[str, Any]) -> bool:
        """The same target: same type, and the same id when the desired target names one,
        else the same value (case-insensitive for hashtags, usernames and regions)."""
        if live.get("type") != want.type:
            return False
        if want.id is not None:
            return str(live.get("id")) == str(want.id)
        return self._norm(want.type, want.value) == self._norm(want.type, live.get("value"))

    def _norm(self, type_: str, value: Any) -> str:
        spec = TARGET_TYPES[self.kind.value].get(type_)
        if spec is not None and spec.value is ValueKind.NONE:
            return ""  # `explore`, `feed`, `timeline`: the API stores no value (the playbook uses the type name)
        text = "" if value is None else str(value).strip().lstrip("#@")
        if type_ == "user_id_list":
            text = "".join(text.split())  # stored without whitespace: `1, 2` is `1,2`
        return text.casefold() if spec is None or spec.value in CASELESS else text

    # -- operations ---------------------------------------------------------------------------
    def operations(self, changes: Sequence[Change]) -> list[Operation]:
        ops: list[Operation] = []
        settings = [c for c in changes if c.path.startswith("settings.")]
        if settings:
            fields = {c.path.removeprefix("settings."): c.ref if _is_secret(c.ref) else c.after for c in settings}
            ops.append(Operation(self.kind, settings[0].account_id, Op.UPDATE_SETTINGS, tuple(settings), PHASE_EDIT,
                                 args={"fields": fields}))
        for c in changes:
            if c.action == "pause":
                ops.append(Operation(self.kind, c.account_id, Op.PAUSE, (c,), PHASE_OFF, bulk=f"{self.kind}.pause"))
            elif c.action == "activate":
                ops.append(
                    Operation(self.kind, c.account_id, Op.ACTIVATE, (c,), PHASE_ON, bulk=f"{self.kind}.activate")
                )
            elif c.action == "add":
                # The change's body itself (never written to; the journal copies what it records)
                ops.append(Operation(self.kind, c.account_id, Op.ADD_TARGET, (c,), PHASE_EDIT, args=c.after))
            elif c.action == "remove":
                ops.append(Operation(self.kind, c.account_id, Op.REMOVE_TARGET, (c,), PHASE_EDIT,
                                     args={"target_id": c.ref, **(c.before or {})}))
        return ops

    async def execute(self, client: SharingtoolsClient, op: Operation) -> None:
        api = self.api(client)
        match op.name:
            case Op.PAUSE:
                await api.pause(op.account_id)
            case Op.ACTIVATE:
                await api.activate(op.account_id)
            case Op.UPDATE_SETTINGS:
                await api.update_settings(op.account_id, resolve_fields(op.args["fields"]))
            case Op.ADD_TARGET:
                # "Target already exists": what the add asked for is there; verify confirms
                with contextlib.suppress(Conflict):
                    await api.add_target(op.account_id, op.args["type"], op.args.get("value"), op.args.get("id"))
            case Op.REMOVE_TARGET:
                # gone already (a retried delete whose first answer was lost); verify confirms
                with contextlib.suppress(NotFound):
                    await api.remove_target(op.account_id, int(op.args["target_id"]))
            case _:  # pragma: no cover - operations() makes only the names above
                raise ValueError(op.name)

    async def recover(self, client: SharingtoolsClient, op: Operation) -> bool:
        if op.name != Op.ADD_TARGET:
            return False
        type_, value, id_ = op.args["type"], op.args.get("value"), op.args.get("id")
        for live in await self.api(client).list_targets(op.account_id):
            if live.type != type_:
                continue
            if self._norm(type_, live.value) == self._norm(type_, value) or (
                    id_ is not None and id_ != value and str(live.id) == str(id_)):
                return True
        return False

    async def execute_bulk(self, client: SharingtoolsClient, bulk: str, ops: Sequence[Operation]) -> set[int]:
        api = self.api(client)
        ids = [op.account_id for op in ops]
        result = await (api.bulk_pause(ids) if ops[0].name == Op.PAUSE else api.bulk_activate(ids))
        return set(result.account_ids)


#: The add's body of each desired target, one dict for every account that adds it (plain data,
#: never written to): a fleet adding one target made one dict per account.
_BODIES: dict[Target, dict[str, str]] = {}


def _body(target: Target) -> dict[str, str]:
    body = _BODIES.get(target)
    if body is None:
        if len(_BODIES) >= 100_000:  # bounded for a long-lived process
            _BODIES.clear()
        body = _BODIES[target] = target.as_api()
    return body


def _public_target(live: Mapping[str, Any]) -> dict[str, Any]:
    return {k: live.get(k) for k in ("type", "value", "id")}


def _is_secret(ref: Any) -> bool:
    return isinstance(ref, dict) and SECRET_FIELD in ref
