"""The managed kinds: one per API module the orchestrator configures."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """A managed kind: the playbook key, and the name ``kinds/`` modules use.

    A `StrEnum`, so it compares equal to its value and serialises as it (JSON, saved plans)."""

    ACCOUNT = "account"
    REACTIONS = "reactions"
    REPOST = "repost"
    WELCOMEDM = "welcomedm"
    AI_DM = "ai_dm"
    LEADS = "leads"
    FIRST_COMMENT = "first_comment"
    CAPTIONS = "captions"  # per user, not per account: `DesiredState.captions`


#: Per-account kinds, in the order plan reports them (and playbook entries list them).
ACCOUNT_KINDS: tuple[Kind, ...] = (
    Kind.ACCOUNT, Kind.REACTIONS, Kind.REPOST, Kind.WELCOMEDM, Kind.AI_DM, Kind.LEADS, Kind.FIRST_COMMENT,
)
