"""Opaque cursors and keyset pages, shared by InBox and Direct Basic.

Both modules page by cursor, not by page number (the reference's quirk: ``next_cursor``
instead of ``page``/``per_page``). A cursor is the base64url (unpadded) JSON of the last
position served, tagged with the list it belongs to, as the reference's example
``eyJpZCI6NDJ9`` (``{"id":42}``) suggests. Positions are keys in a descending order, so a
page is "the next ``limit`` items whose key is below the cursor's": stable while new items
arrive at the top, which an offset would not be.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from orchestrator.emulator.errors import ValidationFailed

T = TypeVar("T")
Key = tuple[Any, ...]

_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
# SQLite integers are signed 64-bit; a larger id can match nothing, and must not reach the driver.
MAX_SQL_INT = 2**63 - 1


def storable_id(value: int) -> bool:
    """Whether ``value`` can be a row id (positive and within SQLite's integer range)."""
    return 0 < value <= MAX_SQL_INT


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes | None:
    """Decode unpadded base64url; None when ``text`` is not canonical base64url."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Reject non-canonical spellings (stray low bits) so one position has one cursor.
    return raw if b64url_encode(raw) == text else None


def encode_cursor(kind: str, key: Key) -> str:
    """The opaque cursor for the position ``key`` in the list ``kind``."""
    return b64url_encode(json.dumps({"k": kind, "p": list(key)}, separators=(",", ":")).encode())


def decode_cursor(token: str, kind: str, shape: Sequence[type]) -> Key:
    """The position in a cursor of list ``kind`` whose key has the types ``shape``; 422 otherwise."""
    raw = b64url_decode(token)
    try:
        payload = json.loads(raw) if raw is not None else None
    except (UnicodeDecodeError, ValueError):
        payload = None
    position = payload.get("p") if isinstance(payload, dict) and payload.get("k") == kind else None
    if not isinstance(position, list) or len(position) != len(shape) or not all(
        type(v) is t for v, t in zip(position, shape, strict=True)  # bool is not an int here
    ):
        raise ValidationFailed({"cursor": "Invalid cursor."})
    return tuple(position)


def keyset_page(
    items: Sequence[T], key: Callable[[T], Key], after: Key | None, limit: int
) -> tuple[list[T], Key | None]:
    """The page of ``items`` (sorted by ``key`` descending) that follows ``after``.

    Returns the page and the key of its last item when more items follow (else None).
    """
    rest = [item for item in items if after is None or key(item) < after]
    page = rest[:limit]
    return page, (key(page[-1]) if len(rest) > limit else None)
