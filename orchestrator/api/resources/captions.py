"""Caption Library: reusable caption templates (core module, no plan gate)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.pagination import checked_items
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy

# How many of the newest search hits a create's readback looks through: a lost create is
# seconds old, so it is among the newest captions whose text contains its title.
READBACK_WINDOW = 100


class Caption(ApiModel):
    """A caption template: ``caption`` may use spintax ``{a|b}`` and hashtags."""

    id: int
    title: str
    caption: str
    date: str | None = None


class CaptionsResource(Resource):
    """``/captions``: list, read, create, update and delete caption templates."""

    def list(self, *, search: str | None = None) -> AsyncIterator[Caption]:
        """Every caption of the key's user, newest first; ``search`` matches title or body."""
        return self._all("captions", {"search": search}, Caption)

    async def page(self, page: int = 1, per_page: int = 20, *, search: str | None = None) -> Page[Caption]:
        """One page of captions."""
        return await self._page("captions", {"search": search}, page, per_page, Caption)

    async def get(self, caption_id: int) -> Caption:
        """One caption by id (NotFound for another user's)."""
        return await self._get(f"captions/{caption_id}", model=Caption)

    async def create(self, title: str, caption: str) -> Caption:
        """Create a caption. The server does not deduplicate captions, so a create whose answer
        was lost is looked up (by title and text) before it is sent again."""
        body = {"title": title, "caption": caption}
        result = await self._write(
            "POST", "captions", json=body, policy=Policy.CREATE_READBACK,
            readback=lambda: self.find_created(title, caption),
        )
        return parse(Caption, result.data)

    async def update(
        self, caption_id: int, *, title: str | None = None, caption: str | None = None
    ) -> Caption:
        """Change the title and/or the text; setting the same values twice is harmless."""
        body = {k: v for k, v in {"title": title, "caption": caption}.items() if v is not None}
        result = await self._write("PATCH", f"captions/{caption_id}", json=body, policy=Policy.IDEMPOTENT)
        return parse(Caption, result.data)

    async def delete(self, caption_id: int) -> dict[str, Any]:
        """Delete a caption permanently."""
        return (await self._write("DELETE", f"captions/{caption_id}", policy=Policy.IDEMPOTENT)).data

    async def find_created(self, title: str, caption: str) -> dict[str, Any] | None:
        """The readback of ``create``: the newest caption with exactly this title and text, or None.

        The search narrows the list to captions mentioning the title; the match compares the
        trimmed values because a server trims form input before storing it. An identical
        caption made earlier is indistinguishable from the lost one; finding it means the
        library holds the wanted caption either way.
        """
        want = (title.strip(), caption.strip())
        page = await self._page_data("captions", {"search": title.strip()}, 1, READBACK_WINDOW)
        for item in checked_items(page["items"], Caption, "captions", 1):  # newest first
            if (item.title.strip(), item.caption.strip()) == want:
                return item.model_dump()
        return None
