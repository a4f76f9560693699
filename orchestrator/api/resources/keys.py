"""API keys (the later revision): list, generate, revoke.

A generated key is shown once: it comes back as a ``SecretStr`` (so no repr or log shows it)
and is registered with the log redactor. The key making a call cannot revoke itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import SecretStr

from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy
from orchestrator.log import register_secret


class ApiKey(ApiModel):
    """A key as listings show it: a ``prefix`` to recognise it by, never the key."""

    id: int
    name: str | None = None
    prefix: str | None = None
    is_active: bool | None = None
    date: str | None = None
    revoked_at: str | None = None


class GeneratedKey(ApiKey):
    key: SecretStr


class KeysResource(Resource):
    """``/keys``, ``/keys/generate`` and ``/keys/revoke``."""

    def list(self, *, is_active: bool | None = None) -> AsyncIterator[ApiKey]:
        params = None if is_active is None else {"is_active": "true" if is_active else "false"}
        return self._all("keys", params, ApiKey)

    async def page(self, page: int = 1, per_page: int = 20) -> Page[ApiKey]:
        return await self._page("keys", None, page, per_page, ApiKey)

    async def generate(self, name: str = "") -> GeneratedKey:
        """A new key for the user. Never retried: a lost answer loses the key (it is shown only
        once), and a retry would only make another; revoke the stray one from the listing."""
        data = (await self._write("POST", "keys/generate", json={"name": name}, policy=Policy.NEVER)).data
        if isinstance(data, dict) and isinstance(data.get("key"), str):
            register_secret(data["key"])
        return parse(GeneratedKey, data)

    async def revoke(self, key_id: int) -> ApiKey:
        """Revoke one of the user's keys; it answers 401 from then on. Idempotent."""
        data = (await self._write("POST", "keys/revoke", json={"key_id": key_id}, policy=Policy.IDEMPOTENT)).data
        return parse(ApiKey, data)
