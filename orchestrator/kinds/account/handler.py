"""Account-level settings: the proxy.

``proxy: auto`` only ensures one is assigned (an account that has one is left alone) and is
coalesced into ``/accounts/change-proxy/bulk``. A given proxy is set per account; one written
as a secret reference (it holds credentials) is read by ``resolve`` before the diff, registered
for redaction there, and compared and shown masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrator.api import SharingtoolsClient
from orchestrator.contract import Account, AccountDesired, Kind, ResolvedSecret, SecretRef
from orchestrator.kinds.base import (
    paths,
    PHASE_EDIT,
    KindHandler,
    Live,
    Op,
    Operation,
    AccountIssue,
    ReadContext,
    ReadResult,
    change,
)
from orchestrator.log import MASK, register_secret
from orchestrator.plan import Change

AUTO = "auto"


class AccountKind(KindHandler):
    kind = Kind.ACCOUNT
    changes = paths(set="proxy")

    def resolve(self, desired: AccountDesired) -> AccountDesired:
        """A proxy written as a secret reference, read (and registered for redaction)."""
        proxy = desired.proxy
        if proxy is None or not isinstance(proxy.value, SecretRef):
            return desired
        base_dir = _base_dir(proxy.source.file)
        try:
            secret = proxy.value.resolve(base_dir)
        except LookupError as exc:  # an unset variable or unreadable file: the account's problem
            raise LookupError(f"proxy {proxy.value} ({proxy.source}): {exc}") from None
        register_secret(secret)
        return replace(desired, proxy=replace(proxy, value=ResolvedSecret(proxy.value, base_dir, secret)))

    async def read(self, ctx: ReadContext, accounts: Sequence[Account], desired: Mapping[int, Any]) -> ReadResult:
        # The account list the planner read already holds every proxy: no request needed.
        result = ReadResult()
        for a in accounts:
            if a.id not in desired:
                continue
            want: AccountDesired = desired[a.id]
            if want.password is not None:
                result.problems.append(AccountIssue(a.id, a.username, self.kind,
                                               "account.password cannot be planned (the API never reads a password "
                                               "back, so there is nothing to diff): set it with `orchestrator api`"))
            result.live[a.id] = {"proxy": ctx.accounts[a.id].proxy or None}
        return result

    def diff(self, account: Account, desired: AccountDesired, live: Live) -> list[Change]:
        if desired.proxy is None:
            return []
        want = desired.proxy.value
        have = live["proxy"]
        if want == AUTO:
            return [] if have else [change(account, self.kind, "set", "proxy", None, AUTO, desired.proxy)]
        if isinstance(want, SecretRef):
            raise TypeError("a secret reference reached the diff: the planner resolves it first (AccountKind.resolve)")
        if isinstance(want, ResolvedSecret):
            if have == want.value:
                return []
            # The reference, never its value, travels in the plan (and a saved plan file).
            ref = {"env": want.ref.env, "file": want.ref.file, "base_dir": want.base_dir}
            return [change(account, self.kind, "set", "proxy", MASK if have else None, f"{MASK} ({want.ref})",
                           desired.proxy, ref=ref)]
        return [] if have == want else [change(account, self.kind, "set", "proxy", have, want, desired.proxy)]

    def operations(self, changes: Sequence[Change]) -> list[Operation]:
        ops = []
        for c in changes:
            if c.after == AUTO:
                ops.append(
                    Operation(self.kind, c.account_id, Op.PROXY_AUTO, (c,), PHASE_EDIT, bulk="account.proxy_auto")
                )
            elif isinstance(c.ref, dict):
                ops.append(Operation(self.kind, c.account_id, Op.PROXY_SECRET, (c,), PHASE_EDIT, args=dict(c.ref)))
            else:
                ops.append(Operation(self.kind, c.account_id, Op.PROXY, (c,), PHASE_EDIT, args={"proxy": c.after}))
        return ops

    async def execute(self, client: SharingtoolsClient, op: Operation) -> None:
        match op.name:
            case Op.PROXY_AUTO:
                await client.accounts.change_proxy(op.account_id)
            case Op.PROXY:
                await client.accounts.change_proxy(op.account_id, op.args["proxy"])
            case Op.PROXY_SECRET:
                ref = SecretRef(env=op.args["env"], file=op.args["file"])
                secret = ref.resolve(op.args["base_dir"])  # read at apply time, never stored
                register_secret(secret)
                await client.accounts.change_proxy(op.account_id, secret)
            case _:  # pragma: no cover - operations() makes only the names above
                raise ValueError(op.name)

    async def execute_bulk(self, client: SharingtoolsClient, bulk: str, ops: Sequence[Operation]) -> set[int]:
        result = await client.accounts.change_proxy_bulk([op.account_id for op in ops])
        return {r.account_id for r in result.results}


def _base_dir(file: str) -> str:
    """The directory a playbook's relative ``{file: ...}`` references are read from, made
    absolute so that a saved plan applies from any working directory."""
    return str(Path(file).resolve().parent)
