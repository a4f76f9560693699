"""Every filter the client can send is one the emulator applies.

The emulator answers 422 to a query parameter a route does not declare (a filter is never
silently ignored), so a client method sending one would break. Each list method is called here
with every filter it has, against the demo world."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from orchestrator.api import SharingtoolsClient

Call = Callable[[SharingtoolsClient], Awaitable[Any]]


async def first(iterator: Any) -> Any:
    async for item in iterator:
        return item
    return None


CALLS: dict[str, Call] = {
    "accounts": lambda c: c.accounts.page(platform="instagram", search="a", login_required=False,
                                          is_slave=False, is_active=True),
    "captions": lambda c: c.captions.page(search="a"),
    "posts": lambda c: c.posts.page(status="saved", account_id=1),
    "reactions schedules": lambda c: c.reactions.list_schedules_page(is_active=True),
    "reactions logs": lambda c: c.reactions.logs_page(1, status="success", action="like"),
    "reactions all logs": lambda c: c.reactions.logs_page(None, status="success", action="like"),
    "reactions stats": lambda c: c.reactions.stats(1, days=3),
    "reactions stats by query": lambda c: c.reactions.stats_by_query(1, days=3),
    "repost schedules": lambda c: c.repost.list_schedules_page(is_active=False),
    "repost logs": lambda c: c.repost.logs_page(None, status="success"),
    "post-actions jobs": lambda c: c.post_actions.list_jobs_page(status="pending"),
    "post-actions logs": lambda c: c.post_actions.logs_page(post_url="https://www.instagram.com/p/X/", action="like"),
    "post-actions usage": lambda c: c.post_actions.usage_page(post_url="https://www.instagram.com/p/X/", action="like"),
    "leads schedules": lambda c: c.leads.list_schedules_page(account_id=1),
    "leads logs": lambda c: c.leads.logs_page(account_id=1, status="success"),
    "leads stats": lambda c: c.leads.stats_page(account_id=1, type="hashtag"),
    "ai-dm logs": lambda c: c.ai_dm.logs_page(account_id=1, type="reply", status="success"),
    "ai-dm threads": lambda c: c.ai_dm.list_threads_page(account_id=1),
    "welcomedm logs": lambda c: c.welcomedm.logs_page(account_id=1, status="sent"),
    "first-comment schedules": lambda c: c.first_comment.list_schedules_page(account_id=1),
    "first-comment logs": lambda c: c.first_comment.logs_page(status="success"),
    "first-comment account logs": lambda c: c.first_comment.account_logs_page(1, status="success"),
    "inbox threads": lambda c: c.inbox.list_threads_page(account_id=1, channel_type="dm", status="open",
                                                         tag="VIP", archived=False, limit=5),
    "direct inbox": lambda c: first(c.direct.inbox(1, folder=1)),
    "wallet transactions": lambda c: c.wallet.transactions_page(type="charge"),
    "keys": lambda c: first(c.keys.list(is_active=True)),
    "proxies": lambda c: first(c.proxies.list(account_id=1)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_every_client_filter_is_accepted(client: SharingtoolsClient, name: str) -> None:
    await CALLS[name](client)  # a refused parameter would raise ValidationFailed
