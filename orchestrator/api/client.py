"""``SharingtoolsClient``: the async client, one attribute per API module.

    async with SharingtoolsClient.from_settings(settings) as client:
        async for account in client.accounts.list():
            ...
        await client.reactions.update_settings(42, likes_speed=3)

All calls share one connection pool (an httpx transport), one rate limit and one concurrency limit.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from orchestrator.api.resources.accounts import AccountsResource
from orchestrator.api.resources.ai_dm import AiDmResource
from orchestrator.api.resources.captions import CaptionsResource
from orchestrator.api.resources.direct import DirectResource
from orchestrator.api.resources.first_comment import FirstCommentResource
from orchestrator.api.resources.inbox import InboxResource
from orchestrator.api.resources.keys import KeysResource
from orchestrator.api.resources.leads import LeadsResource
from orchestrator.api.resources.media import MediaResource
from orchestrator.api.resources.post_actions import PostActionsResource
from orchestrator.api.resources.posts import PostsResource
from orchestrator.api.resources.proxies import ProxiesResource
from orchestrator.api.resources.reactions import ReactionsResource
from orchestrator.api.resources.repost import RepostResource
from orchestrator.api.resources.user import UserResource
from orchestrator.api.resources.wallet import WalletResource
from orchestrator.api.resources.welcomedm import WelcomeDmResource
from orchestrator.api.http import PooledTransport, Sender, environment_proxy
from orchestrator.api.retry import RetrySettings
from orchestrator.api.transport import Transport
from orchestrator.api.settings import Settings


class SharingtoolsClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        rate: float = 10.0,
        concurrency: int = 16,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        retry: RetrySettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool = True,
        sleep: Any = None,
        clock: Any = None,
    ) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        if transport is None:
            transport = PooledTransport(verify=verify, limits=limits, proxy=environment_proxy(base_url))
        self._http = Sender(
            transport, base_url,
            {"Accept": "application/json", "User-Agent": "sharingtools-orchestrator",
             "Authorization": f"Bearer {api_key}"},
            httpx.Timeout(timeout, connect=connect_timeout),
        )
        kwargs: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        if clock is not None:
            kwargs["clock"] = clock  # with ``sleep``: virtual time for tests
        self.transport = Transport(
            self._http, rate=rate, concurrency=concurrency, retry=retry or RetrySettings(), **kwargs
        )
        t = self.transport
        self.accounts = AccountsResource(t)
        self.captions = CaptionsResource(t)
        self.media = MediaResource(t)
        self.posts = PostsResource(t)
        self.reactions = ReactionsResource(t)
        self.repost = RepostResource(t)
        self.post_actions = PostActionsResource(t)
        self.leads = LeadsResource(t)
        self.ai_dm = AiDmResource(t)
        self.welcomedm = WelcomeDmResource(t)
        self.first_comment = FirstCommentResource(t)
        self.inbox = InboxResource(t)
        self.direct = DirectResource(t)
        # the later revision's endpoints
        self.user = UserResource(t)
        self.wallet = WalletResource(t)
        self.keys = KeysResource(t)
        self.proxies = ProxiesResource(t)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> SharingtoolsClient:
        """A client configured from ``settings``; checks the key and the URL before any request."""
        key = settings.resolved_key()
        settings.check_transport_security()
        retry = RetrySettings(
            attempts=settings.retry_attempts,
            deadline=settings.retry_deadline,
            backoff_base=settings.retry_backoff_base,
            backoff_max=settings.retry_backoff_max,
            settle=settings.settle_time,
        )
        return cls(
            settings.base_url, key, rate=settings.rate, concurrency=settings.concurrency,
            timeout=settings.timeout, connect_timeout=settings.connect_timeout, retry=retry,
            verify=settings.verify_tls, **kwargs,
        )

    async def raw(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        """An authenticated call to any path, retried as a read for GET and never otherwise."""
        from orchestrator.api.retry import Policy

        policy = Policy.READ if method.upper() == "GET" else Policy.NEVER
        return (await self.transport.call(method.upper(), path, params=params, json=json, policy=policy)).data

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SharingtoolsClient:
        return self

    async def __aexit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        await self.aclose()
