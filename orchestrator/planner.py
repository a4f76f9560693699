"""Computing a plan: read what the playbooks manage, concurrently, and diff it (pure).

    accounts (1 list) -> desired state -> per kind: read (lists once, details per account)
                      -> live-settings check -> diff -> Plan (changes + fingerprints)

Reads run concurrently across kinds and accounts, bounded by the client's concurrency and
rate limits. A kind the user's plan or the server lacks becomes a problem for the accounts
that need it, not a crash; so does an account without the schedule a kind needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import ModuleNotEnabled, ModuleNotInstalled
from orchestrator.contract import DesiredState, Kind
from orchestrator.kinds import KINDS, KindHandler, Problem, ReadContext, ReadResult
from orchestrator.kinds.captions import LIBRARY
from orchestrator.plan import Change, Plan, fingerprint
from orchestrator.playbook import Diagnostic, Playbook, check_live_settings, desired_state
from orchestrator.shard import Shard

SETTINGS_MODULES = {Kind.REACTIONS: "reactions", Kind.REPOST: "repost"}


@dataclass
class Planned:
    """A plan and what stands in its way: problems (per account) and diagnostics (per playbook line)."""

    plan: Plan
    desired: DesiredState
    live: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.diagnostics


def playbook_hash(playbook: Playbook) -> str:
    """A hash of every playbook file's name and text: a saved plan is refused when it changed."""
    digest = hashlib.sha256()
    for name in playbook.files:
        digest.update(name.encode() + b"\0")
        try:
            digest.update(Path(name).read_bytes())
        except OSError:
            pass
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


async def read_accounts(client: SharingtoolsClient) -> list[Any]:
    return [a async for a in client.accounts.list()]


async def build_plan(
    client: SharingtoolsClient,
    playbook: Playbook,
    *,
    limit: Sequence[str] = (),
    accounts: list[Any] | None = None,
    only: Iterable[int] | None = None,
    pairs: Iterable[tuple[int, str]] | None = None,
    shard: Shard | None = None,
) -> Planned:
    """Read and diff. ``accounts`` skips the account read (the caller has it); ``only``
    restricts reads to these account ids, ``pairs`` to these (account id, kind) pairs
    (verify and resume re-read just what they touched); ``shard`` keeps that shard's accounts."""
    accounts = accounts if accounts is not None else await read_accounts(client)
    desired = desired_state(playbook, accounts, limit=limit)
    if shard is not None:
        desired = shard.select(desired)
    keep = set(only) if only is not None else None
    keep_pairs = set(pairs) if pairs is not None else None
    ctx = ReadContext(client, {a.id: a for a in accounts})
    results: dict[Kind, ReadResult] = {}

    async def read(kind: Kind, handler: KindHandler) -> None:
        wanted = desired.of_kind(kind) if kind is not Kind.CAPTIONS else {0: desired.captions}
        if keep is not None:
            wanted = {a: d for a, d in wanted.items() if a in keep}
        if keep_pairs is not None:
            wanted = {a: d for a, d in wanted.items() if (a, kind.value) in keep_pairs}
        if not wanted:
            return
        targets = [desired.accounts[a] for a in wanted if a in desired.accounts] or [LIBRARY]
        try:
            results[kind] = await handler.read(ctx, targets, wanted)
        except (ModuleNotEnabled, ModuleNotInstalled) as exc:
            why = "your plan does not include it" if isinstance(exc, ModuleNotEnabled) else "it is not installed on the server"
            results[kind] = ReadResult(problems=[
                Problem(a.id, a.username, kind, f"{handler.label} cannot be managed: {why}") for a in targets])

    async with anyio.create_task_group() as tg:
        for kind in sorted(desired.kinds(), key=list(Kind).index):
            tg.start_soon(read, kind, KINDS[kind])

    planned = Planned(Plan.build([], "", {}, 0), desired)
    changes: list[Change] = []
    fingerprints: dict[int, dict[str, str]] = {}
    for kind, result in sorted(results.items(), key=lambda kv: list(Kind).index(kv[0])):
        planned.problems += result.problems
        handler = KINDS[kind]
        for account_id, live in result.live.items():
            planned.live[(account_id, kind.value)] = live
            fingerprints.setdefault(account_id, {})[kind.value] = fingerprint(live)
            want = desired.captions if kind is Kind.CAPTIONS else desired.get(account_id, kind)
            account = desired.accounts.get(account_id, LIBRARY)
            changes += handler.diff(account, want, live)
        if kind in SETTINGS_MODULES:
            planned.diagnostics += _check_settings(playbook, kind, result)
    planned.plan = Plan.build(changes, playbook_hash(playbook), fingerprints, len(fingerprints))
    return planned


def _check_settings(playbook: Playbook, kind: Kind, result: ReadResult) -> list[Diagnostic]:
    """Settings the playbook names that the live API does not have (undocumented fields are
    checked against what the server returns, not against a list of ours)."""
    for live in result.live.values():
        if "settings" in live:
            return check_live_settings(playbook, SETTINGS_MODULES[kind], live["settings"].keys())
    return []
