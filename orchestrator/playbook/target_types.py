"""Checking a target's value and id against its type (the types are in `orchestrator.contract.target_types`)."""

from __future__ import annotations

import re

from orchestrator.contract.target_types import (
    REACTIONS_TARGET_TYPES,
    REPOST_TARGET_TYPES,
    TARGET_TYPES,
    TargetType,
    ValueKind,
)

__all__ = ["REACTIONS_TARGET_TYPES", "REPOST_TARGET_TYPES", "TARGET_TYPES", "TargetType", "ValueKind",
           "id_problem", "value_problem"]

_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
_REGION = re.compile(r"^[A-Z]{2}$")
_DIGITS = re.compile(r"^[0-9]+$")


def value_problem(kind: ValueKind, value: str) -> tuple[str, str | None] | None:
    """(message, hint) when ``value`` is not a valid value of its kind, else None."""
    if kind is ValueKind.HASHTAG:
        if value.startswith("#"):
            return f"hashtag `{value}` starts with `#`", f"write `{value.lstrip('#')}`"
        if any(c.isspace() for c in value):
            return f"hashtag `{value}` contains a space", "a hashtag is one word"
    elif kind is ValueKind.USERNAME:
        if value.startswith("@"):
            return f"username `{value}` starts with `@`", f"write `{value.lstrip('@')}`"
        if not _USERNAME.match(value):
            return (f"`{value}` is not an Instagram username",
                    "usernames have at most 30 letters, digits, `.` and `_`")
    elif kind is ValueKind.REGION and not _REGION.match(value):
        return f"`{value}` is not a region code", "write two capital letters, such as `US` or `DE`"
    return None


def id_problem(value: str) -> tuple[str, str | None] | None:
    """(message, hint) when a target id is not numeric, else None."""
    if not _DIGITS.match(value):
        return f"target id `{value}` is not numeric", "Instagram ids are digits, such as `213385402`"
    return None
