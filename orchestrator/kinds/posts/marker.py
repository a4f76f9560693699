"""The mark a playbook's post carries on the server: how a post is recognised as the copy of
playbook post ``name`` on an account, whatever else about it changed, with no state database.

The API has no field for it, so the mark goes at the end of the caption, where Instagram and
the server keep what they are given: a space, then U+2063 INVISIBLE SEPARATOR followed by
eight variation selectors (U+FE00 to U+FE0F, the characters emoji carry to choose how they are
drawn) that spell 32 bits of a hash of (post name, account id). All of it renders as nothing.
The server trims a caption's ends, and none of these characters is whitespace, so the mark
survives; a caption edited in the web panel may lose it, and then the state database and the
post's content (see ``handler``) still recognise it.

Each mark is particular to one post of one account, and any mark says "made by a playbook":
a marked post that no playbook post claims is one the playbook no longer lists.
"""

from __future__ import annotations

import hashlib
import re

from orchestrator.contract.desired import CAPTION_RESERVED

START = "\u2063"
SELECTORS = tuple(chr(0xFE00 + i) for i in range(16))
MARK = re.compile(" ?\u2063([\ufe00-\ufe0f]{8})")


def payload(name: str, account_id: int) -> str:
    """The eight selectors of post ``name`` on account ``account_id``."""
    digest = hashlib.sha256(f"post\0{name}\0{account_id}".encode()).digest()[:4]
    return "".join(SELECTORS[b >> 4] + SELECTORS[b & 15] for b in digest)


def mark(caption: str, name: str, account_id: int) -> str:
    """``caption`` as sent: trimmed, then the mark (a space before it keeps a last hashtag whole)."""
    text = caption.strip()
    return (text + " " if text else "") + START + payload(name, account_id)


def read(caption: str | None) -> tuple[str, str | None]:
    """A live caption as people read it (every mark taken out, trimmed), and the last mark's
    payload (None: the post carries none)."""
    found = MARK.findall(caption or "")
    return MARK.sub("", caption or "").strip(), (found[-1] if found else None)


assert len(" " + START + payload("", 0)) == CAPTION_RESERVED, "the playbook keeps room for the mark"
