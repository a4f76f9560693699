"""Account-level settings: the proxy.

``proxy: auto`` only ensures one is assigned (an account that has one is left alone) and is
coalesced into ``/accounts/change-proxy/bulk``. A given proxy is set per account; one written
as a secret reference (it holds credentials) is compared and shown masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrator.api import SharingtoolsClient
from orchestrator.contract import Account, AccountDesired, Kind, SecretRef
from orchestrator.kinds.base import (
    PHASE_EDIT,
    KindHandler,
    Live,
    Operation,
    Problem,
    ReadContext,
    ReadResult,
    change,
)
from orchestrator.log import MASK, register_secret
from orchestrator.plan import Change

AUTO = "auto"


class AccountKind(KindHandler):
    kind = Kind.ACCOUNT
    label = "Account"

    async def read(self, ctx: ReadContext, accounts: Sequence[Account], desired: Mapping[int, Any]) -> ReadResult:
        # The account list the planner read already holds every proxy: no request needed.
        result = ReadResult()
        for a in accounts:
            if a.id not in desired:
                continue
            want: AccountDesired = desired[a.id]
            if want.password is not None:
                result.problems.append(Problem(a.id, a.username, self.kind,
                                               "account.password cannot be planned (the API never reads a password "
                                               "back, so there is nothing to diff): set it with `orchestrator api`"))
            if want.proxy is not None and isinstance(want.proxy.value, SecretRef):
                try:  # diff resolves it to compare: an unset variable or unreadable file is a problem, not a crash
                    want.proxy.value.resolve(_base_dir(want.proxy.source.file))
                except LookupError as exc:
                    result.problems.append(Problem(a.id, a.username, self.kind,
                                                   f"proxy {want.proxy.value} ({want.proxy.source}): {exc}"))
                    continue
            result.live[a.id] = {"proxy": getattr(ctx.accounts[a.id], "proxy", None) or None}
        return result

    def diff(self, account: Account, desired: AccountDesired, live: Live) -> list[Change]:
        if desired.proxy is None:
            return []
        want = desired.proxy.value
        have = live["proxy"]
        if want == AUTO:
            return [] if have else [change(account, self.kind, "set", "proxy", None, AUTO, desired.proxy)]
        if isinstance(want, SecretRef):
            secret = want.resolve(_base_dir(desired.proxy.source.file))
            register_secret(secret)
            if have == secret:
                return []
            # The reference, never its value, travels in the plan (and a saved plan file).
            ref = {"env": want.env, "file": want.file, "base_dir": _base_dir(desired.proxy.source.file)}
            return [change(account, self.kind, "set", "proxy", MASK if have else None, f"{MASK} ({want})",
                           desired.proxy, ref=ref)]
        return [] if have == want else [change(account, self.kind, "set", "proxy", have, want, desired.proxy)]

    def operations(self, changes: Sequence[Change]) -> list[Operation]:
        ops = []
        for c in changes:
            if c.after == AUTO:
                ops.append(Operation(self.kind, c.account_id, "proxy_auto", (c,), PHASE_EDIT, bulk="account.proxy_auto"))
            elif isinstance(c.ref, dict):
                ops.append(Operation(self.kind, c.account_id, "proxy_secret", (c,), PHASE_EDIT, args=dict(c.ref)))
            else:
                ops.append(Operation(self.kind, c.account_id, "proxy", (c,), PHASE_EDIT, args={"proxy": c.after}))
        return ops

    async def execute(self, client: SharingtoolsClient, op: Operation) -> None:
        if op.name == "proxy_auto":
            await client.accounts.change_proxy(op.account_id)
        elif op.name == "proxy":
            await client.accounts.change_proxy(op.account_id, op.args["proxy"])
        else:
            ref = SecretRef(env=op.args["env"], file=op.args["file"])
            secret = ref.resolve(op.args["base_dir"])  # read at apply time, never stored
            register_secret(secret)
            await client.accounts.change_proxy(op.account_id, secret)

    async def execute_bulk(self, client: SharingtoolsClient, bulk: str, ops: Sequence[Operation]) -> set[int]:
        result = await client.accounts.change_proxy_bulk([op.account_id for op in ops])
        return {r.account_id for r in result.results}


def _base_dir(file: str) -> str:
    """The directory a playbook's relative ``{file: ...}`` references are read from, made
    absolute so that a saved plan applies from any working directory."""
    return str(Path(file).resolve().parent)
