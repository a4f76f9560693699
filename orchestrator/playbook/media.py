"""The media files posts name: found beside the playbook, checked, and hashed, before any upload.

A post's ``media:`` names files relative to the playbook that lists them. Loading a playbook
checks each file as the server would check its upload, so that a wrong file is a diagnostic
at its line instead of a failed apply: it must exist inside the playbook's directory tree
(symbolic links followed), be non-empty and at most `MAX_MEDIA_BYTES` (the server's default
per-file limit; a plan may set less), and its content must be of the type its extension says
(a ``.jpg`` that is really a PNG, or a text file, is refused). Its SHA-256 is the identity
apply uploads it under, once per content, whatever the file is called.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

#: The server's default largest file (50 MB, "enforced per your plan's storage settings").
MAX_MEDIA_BYTES = 50 * 1024 * 1024
CHUNK = 1024 * 1024

# What each extension's content starts with (its "magic" bytes).
_FAMILY = {"jpg": "JPEG image", "jpeg": "JPEG image", "png": "PNG image", "gif": "GIF image", "mp4": "MP4 video"}


def sniff(head: bytes) -> str | None:
    """The family of a file from its first bytes (``JPEG image``...), or None when unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG image"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG image"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF image"
    if head[4:8] == b"ftyp":
        return "MP4 video"
    return None


@dataclass(frozen=True)
class LocalMedia:
    """A checked media file: where it is, its content's SHA-256 and size, image or video."""

    path: str
    sha256: str
    size: int
    kind: str


class MediaProblem(Exception):
    """A media file that cannot be uploaded: ``message`` and ``hint`` for its diagnostic."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def check_media(written: str, playbook_file: str) -> LocalMedia:
    """The file ``written`` (as the playbook names it) beside ``playbook_file``, checked and
    hashed; raises `MediaProblem` saying what is wrong."""
    base = Path(playbook_file).parent
    path = base / written
    try:
        inside = path.resolve().is_relative_to(base.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise MediaProblem(f"media file `{written}` is outside the playbook's directory",
                           "keep media files beside the playbooks")
    if not path.is_file():
        raise MediaProblem(f"media file `{written}` does not exist",
                           f"paths are relative to the playbook's directory ({base.as_posix() or '.'})")
    ext = written.rpartition(".")[2].lower()
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
            digest.update(head)
            size = len(head)
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as error:
        raise MediaProblem(f"cannot read media file `{written}`: {error.strerror}") from None
    if size == 0:
        raise MediaProblem(f"media file `{written}` is empty")
    if size > MAX_MEDIA_BYTES:
        raise MediaProblem(f"media file `{written}` is {size / 2**20:.1f} MB",
                           f"the server takes files up to {MAX_MEDIA_BYTES // 2**20} MB")
    found, wanted = sniff(head), _FAMILY[ext]
    if found != wanted:
        raise MediaProblem(f"media file `{written}` is not a {wanted}"
                           + (f" (its content is a {found})" if found else ""),
                           "give the file the extension of its type, or export it again")
    return LocalMedia(str(path.resolve()), digest.hexdigest(), size, "video" if ext == "mp4" else "image")
