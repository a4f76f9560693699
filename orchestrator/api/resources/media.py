"""Media Upload: the user's image and video files, referenced by posts as ``media_ids``."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.pagination import checked_items
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy

# How many of the newest files an upload's readback looks through: a lost upload is
# seconds old, so only files uploaded concurrently can push it further down.
READBACK_WINDOW = 100


class MediaFile(ApiModel):
    """An uploaded file. The reference documents ``id``, ``url``, ``type`` and ``filesize``."""

    id: int
    url: str | None = None
    type: str | None = None  # image | video
    filesize: int | None = None
    name: str | None = None  # the name it was uploaded under
    filename: str | None = None  # the name it is stored under
    extension: str | None = None
    date: str | None = None


def _basename(name: str) -> str:
    """The file's own name, as a server stores it (a browser may send a whole path)."""
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()


class MediaResource(Resource):
    """``/media``: list, upload, read and delete files."""

    def list(self) -> AsyncIterator[MediaFile]:
        """Every file of the key's user, newest first."""
        return self._all("media", None, MediaFile)

    async def page(self, page: int = 1, per_page: int = 20) -> Page[MediaFile]:
        """One page of files."""
        return await self._page("media", None, page, per_page, MediaFile)

    async def get(self, media_id: int) -> MediaFile:
        """One file's metadata (NotFound for another user's)."""
        return await self._get(f"media/{media_id}", model=MediaFile)

    async def upload(self, name: str, content: bytes, content_type: str | None = None) -> MediaFile:
        """Upload ``content`` as a file called ``name`` (multipart, field ``file``).

        The server does not deduplicate uploads, so one whose answer was lost is looked up
        (same name and size among the newest files) before it is sent again.
        """
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        result = await self._write(
            "POST", "media", files={"file": (name, content, ctype)}, policy=Policy.CREATE_READBACK,
            readback=lambda: self.find_uploaded(name, len(content)),
        )
        return parse(MediaFile, result.data)

    async def upload_path(self, path: str | Path, content_type: str | None = None) -> MediaFile:
        """Upload a local file under its own name."""
        p = anyio.Path(path)
        return await self.upload(p.name, await p.read_bytes(), content_type)

    async def delete(self, media_id: int) -> dict[str, Any]:
        """Delete a file from storage. Posts that name it keep the id."""
        return (await self._write("DELETE", f"media/{media_id}", policy=Policy.IDEMPOTENT)).data

    async def find_uploaded(self, name: str, size: int) -> dict[str, Any] | None:
        """The readback of ``upload``: the newest file with this name and size, or None.

        Bytes are not readable back through the API, so name and size stand for the content.
        An identical file uploaded earlier also matches; the storage then holds the wanted
        file either way.
        """
        want = _basename(name)
        data = await self._page_data("media", None, 1, READBACK_WINDOW)
        for item in checked_items(data["items"], dict, "media", 1):  # newest first
            if item.get("name") == want and item.get("filesize") == size:
                return item
        return None
