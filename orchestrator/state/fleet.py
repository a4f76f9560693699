"""Shards that behave as one fleet when they share a store: the budgets they split.

**Policy allowances.** A safety limit (``max_activations: 10``, ``max_pauses: 20%``) is the
whole fleet's, as if one process applied it: percentages are of every account the playbook
manages, and before it writes, a shard *reserves* its amounts of the fleet's allowance in the
store, atomically, all or none. Shards reserving in the same *round* share one allowance: the
round named by ``SHARINGTOOLS_FLEET_RUN`` (the manifests pass the Job's name, so the pods of
one Indexed Job share it), or else the newest round of the same shard count opened less than
``ROUND_WINDOW`` ago (shards started together by cron). A refused reservation holds that
shard's writes, as a violation holds one process's (exit 3).

**Rate and concurrency.** ``rate`` and ``concurrency`` are the installation's budget: live
members hold leases in the store (a row renewed every ``HEARTBEAT`` second, living
``LEASE_TTL`` seconds), and each takes ``budget / live``. A member that finishes leaves at
once; one that dies stops renewing, and its share returns to the others within
``LEASE_TTL`` + ``HEARTBEAT`` seconds. A new member counts all N shards as live for
``JOIN_GRACE`` seconds, so the first one up does not take the whole budget while the others
are still starting. Leases were chosen over a token bucket in the store: a bucket asks the
store once per request (300 round trips a second at ``rate: 300``); a lease asks it once a
second per member, and the client's own limiter paces within its share (measured in
``docs/benchmarks.md``).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio

from orchestrator.state.store import (
    HEARTBEAT,
    LEASE_TTL,
    FleetShare,
    Reservation,
    StateStoreError,
    share_of,
)
from orchestrator.log import get_logger

log = get_logger("orchestrator.state")


def decide_round(round_id: str | None, latest: Any, shards: int, now: float, window: float) -> tuple[str, bool]:
    """(the round to reserve in, whether it is to be recorded as opened now)."""
    if round_id:
        return round_id, True
    if latest is not None and now - float(latest[1]) <= window:
        return str(latest[0]), False
    return f"auto-{int(now)}-{shards}-{uuid.uuid4().hex[:8]}", True


def reservation_of(round_name: str, amounts: Mapping[str, int], limits: Mapping[str, int],
                   used: Mapping[str, int]) -> Reservation:
    """Granted when every amount fits in what the round has left of its limit."""
    granted = all(used.get(rule, 0) + amount <= limits.get(rule, 0) for rule, amount in amounts.items() if amount > 0)
    after = {rule: used.get(rule, 0) + (amounts.get(rule, 0) if granted else 0) for rule in set(amounts) | set(used)}
    return Reservation(granted, round_name, after if granted else dict(used), dict(limits), dict(amounts))


class FleetMember:
    """One live member's lease, for the length of an ``async with``; see the module docstring.

    ``store`` provides ``fleet_join(member, ttl)``, ``fleet_beat(member, ttl) -> live`` and
    ``fleet_leave(member)``; ``on_share`` is called with each new ``FleetShare``."""

    def __init__(self, store: Any, rate: float, concurrency: int, on_share: Callable[[FleetShare], None],
                 *, shards: int | None = None, heartbeat: float = HEARTBEAT, ttl: float = LEASE_TTL) -> None:
        self.store, self.rate, self.concurrency, self.on_share = store, rate, concurrency, on_share
        self.shards = shards if shards is not None else (getattr(store, "shards", None) or 1)
        self.heartbeat, self.ttl = heartbeat, ttl
        self.member = uuid.uuid4().hex
        self.share: FleetShare | None = None
        self._joined = time.monotonic()

    def _tell(self, live: int) -> None:
        share = share_of(self.rate, self.concurrency, live, self.shards, time.monotonic() - self._joined)
        if share != self.share:
            if self.share is not None:
                log.info("fleet share", live=share.live, rate=round(share.rate, 1), concurrency=share.concurrency)
            self.share = share
            self.on_share(share)

    async def _beats(self) -> None:
        while True:
            await anyio.sleep(self.heartbeat)
            try:
                self._tell(await self.store.fleet_beat(self.member, self.ttl))
            except StateStoreError as exc:  # the lease runs out if the store stays away; the run goes on
                log.warning("fleet heartbeat failed", error=str(exc))

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        await self.store.fleet_join(self.member, self.ttl)
        self._joined = time.monotonic()
        self._tell(await self.store.fleet_beat(self.member, self.ttl))
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._beats)
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True), contextlib.suppress(StateStoreError):
                await self.store.fleet_leave(self.member)
