"""API keys and the authenticated principal.

Keys are ``sht_`` + 64 hex characters, stored only as their SHA-256 (as the reference
says the real server does). A presented key is hashed, looked up by hash, and the
stored hash compared with ``hmac.compare_digest`` so the final check takes constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.emulator.errors import InvalidApiKey, Unauthorized

KEY_PATTERN = re.compile(r"^sht_[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """The user a request acts for."""

    id: int
    username: str
    is_admin: bool
    modules: frozenset[str]

    def owns(self, doc: Mapping[str, object]) -> bool:
        """Admin keys see across users; everyone else sees only their own documents."""
        return self.is_admin or doc.get("user_id") == self.id


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key(rng: random.Random | None = None) -> str:
    rng = rng or random.SystemRandom()
    return "sht_" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def presented_key(headers: Mapping[str, str]) -> str:
    """The key from ``Authorization: Bearer`` or the later revision's ``X-API-Key``.

    A missing header, another scheme, or a token that is not ``sht_`` + 64 hex is
    "Unauthorized" (malformed); a well-formed key that is not known is "Invalid API key".
    """
    auth = headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthorized()
        token = token.strip()
    else:
        token = (headers.get("x-api-key") or "").strip()
    if not KEY_PATTERN.match(token):
        raise Unauthorized()
    return token


class KeyRing:
    """In-memory index of key hashes to principals, rebuilt from the store when keys change."""

    def __init__(self) -> None:
        self._by_hash: dict[str, Principal] = {}

    def load(self, entries: list[tuple[str, Principal]]) -> None:
        self._by_hash = dict(entries)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        digest = hash_key(presented_key(headers))
        principal = self._by_hash.get(digest)
        stored = digest if principal is not None else "0" * 64
        # The dict lookup finds the candidate; the comparison that decides is constant-time.
        if principal is None or not hmac.compare_digest(stored, digest):
            raise InvalidApiKey()
        return principal
