"""Account-level settings: the proxy.

``proxy: auto`` only ensures one is assigned (an account that has one is left alone) and is
coalesced into ``/accounts/change-proxy/bulk``. A given proxy is set per account; one written
as a secret reference (it holds credentials) is compared and shown masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.api import SharingtoolsClient
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
from orchestrator.playbook import Account, AccountDesired, Kind, SecretRef

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
            return [change(account, self.kind, "set", "proxy", MASK if have else None, f"{MASK} ({want})",
                           desired.proxy, ref={"secret": str(want)})]
        return [] if have == want else [change(account, self.kind, "set", "proxy", have, want, desired.proxy)]

    def operations(self, changes: Sequence[Change]) -> list[Operation]:
        ops = []
        for c in changes:
            if c.after == AUTO:
                ops.append(Operation(self.kind, c.account_id, "proxy_auto", (c,), PHASE_EDIT, bulk="account.proxy_auto"))
            elif isinstance(c.ref, dict) and "secret" in c.ref:
                ops.append(Operation(self.kind, c.account_id, "proxy_secret", (c,), PHASE_EDIT,
                                     args={"source": c.source, "secret": c.ref["secret"]}))
            else:
                ops.append(Operation(self.kind, c.account_id, "proxy", (c,), PHASE_EDIT, args={"proxy": c.after}))
        return ops

    async def execute(self, client: SharingtoolsClient, op: Operation) -> None:
        if op.name == "proxy_auto":
            await client.accounts.change_proxy(op.account_id)
        elif op.name == "proxy":
            await client.accounts.change_proxy(op.account_id, op.args["proxy"])
        else:
            await client.accounts.change_proxy(op.account_id, _resolve(op.args["secret"], op.args["source"]))

    async def execute_bulk(self, client: SharingtoolsClient, bulk: str, ops: Sequence[Operation]) -> set[int]:
        result = await client.accounts.change_proxy_bulk([op.account_id for op in ops])
        return {r.account_id for r in result.results}


def _base_dir(file: str) -> str:
    from pathlib import Path

    return str(Path(file).parent)


def _resolve(ref: str, source: str | None) -> str:
    """Read a secret reference written as ``{env: X}`` or ``{file: p}`` at apply time."""
    kind, _, rest = ref.strip("{}").partition(":")
    name = rest.strip()
    secret = SecretRef(env=name) if kind.strip() == "env" else SecretRef(file=name)
    value = secret.resolve(_base_dir((source or ".").rsplit(":", 2)[0]))
    register_secret(value)
    return value
