"""A shard's lease of the installation's budget, for the length of a run (``state/fleet.py``).

With ``--shard K/N`` and a store the shards share, ``rate`` and ``concurrency`` are the
installation's, split among the live shards: the client is told its share when it joins and
whenever a shard joins, leaves or dies. Unsharded, the client keeps the whole budget.
"""

from __future__ import annotations

import contextlib
from typing import Any

from orchestrator.api import SharingtoolsClient
from orchestrator.planning.shard import Shard
from orchestrator.state.store import StateStore


def fleet_member(store: StateStore, client: SharingtoolsClient, settings: Any,
                 shard: Shard | None) -> contextlib.AbstractAsyncContextManager[None]:
    """The lease as an async context manager (a no-op unsharded)."""
    if shard is None:
        return contextlib.nullcontext()
    return store.fleet_member(settings.rate, settings.concurrency,
                              lambda share: client.transport.set_budget(share.rate, share.concurrency))
