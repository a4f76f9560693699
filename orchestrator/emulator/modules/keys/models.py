"""API keys: list, generate, revoke. State and rules, no HTTP.

Keys are stored as their SHA-256 only (``auth.py``); a generated key is returned once, in the
answer to ``generate``, and never again. What a listing shows of a key is its ``prefix``, the
first characters a person recognises it by. The key ring is reloaded after every change, so a
new key authenticates on the next request and a revoked one answers 401 "Invalid API key".
"""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.auth import generate_key, hash_key
from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.errors import NotFound, ValidationFailed
from orchestrator.emulator.store import Doc

PREFIX_LENGTH = 12  # "sht_" and 8 hex characters: enough to tell keys apart, useless to an attacker
MAX_ACTIVE_KEYS = 25
NAME_MAX = 64


def public(doc: Doc) -> dict[str, Any]:
    """A key as listings show it: never its hash, never the key."""
    return {
        "id": doc["id"],
        "name": doc.get("name") or "",
        "prefix": doc.get("prefix"),
        "is_active": not doc.get("revoked"),
        "date": doc.get("date"),
        "revoked_at": doc.get("revoked_at"),
    }


def list_keys(ctx: Ctx, paging: Paging, is_active: bool | None) -> tuple[list[Doc], int]:
    """The caller's own keys (an admin's too: keys are personal, not a cross-user resource)."""
    revoked = None if is_active is None else not is_active
    return ctx.state.api_keys.find(user_id=ctx.user.id, revoked=revoked, page=paging.page, per_page=paging.per_page)


def generate(ctx: Ctx, name: str) -> tuple[Doc, str]:
    """A new key for the caller; returns its document and the raw key (shown this once)."""
    if ctx.state.api_keys.count(user_id=ctx.user.id, revoked=False) >= MAX_ACTIVE_KEYS:
        raise ValidationFailed({"name": f"At most {MAX_ACTIVE_KEYS} active keys: revoke one first"})
    key = generate_key()
    doc = ctx.state.api_keys.insert({
        "user_id": ctx.user.id, "key_hash": hash_key(key), "revoked": False, "name": name,
        "prefix": key[:PREFIX_LENGTH], "date": ctx.clock.stamp(), "revoked_at": None,
    })
    ctx.state.reload_keys()
    return doc, key


def revoke(ctx: Ctx, key_id: int, presented_hash: str) -> Doc:
    """Revoke one of the caller's keys. The key making the request cannot revoke itself: a
    client would lock itself out between two calls; revoke it from another key or the panel."""
    doc = ctx.state.api_keys.get(key_id)
    if doc is None or doc["user_id"] != ctx.user.id:
        raise NotFound("API key not found")
    if doc["key_hash"] == presented_hash:
        raise ValidationFailed({"key_id": "This is the key making the request: revoke it with another key"})
    _revoke(ctx, doc)
    return doc


def revoke_presented(ctx: Ctx, presented_hash: str) -> Doc:
    """Revoke the key the request was made with (the bodiless form). Asked for in so many words,
    so unlike naming its own id (a likely slip when picking from a list) it is not refused; the
    key still served this request and answers 401 "Invalid API key" from the next one."""
    doc = ctx.state.api_keys.find_one(key=presented_hash)
    if doc is None:  # pragma: no cover - the request authenticated with this very key
        raise NotFound("API key not found")
    _revoke(ctx, doc)
    return doc


def _revoke(ctx: Ctx, doc: Doc) -> None:
    if not doc.get("revoked"):
        doc["revoked"] = True
        doc["revoked_at"] = ctx.clock.stamp()
        ctx.state.api_keys.update(doc)
        ctx.state.reload_keys()
