"""A reference to a secret (where to read it), and a secret read from one for a diff."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


#: Set to 1 to let ``{file: ...}`` read outside the playbook's directory tree. Off by default: a
#: pull request could otherwise make apply read any local file and send it to the server.
ANYWHERE_ENV = "SHARINGTOOLS_SECRET_FILES_ANYWHERE"


def files_anywhere(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``{file: ...}`` references may point outside the playbook's directory."""
    env = os.environ if environ is None else environ
    return env.get(ANYWHERE_ENV, "").strip().lower() in ("1", "true", "yes")


def _inside(path: Path, base: Path) -> bool:
    """Whether ``path`` (symbolic links followed) lies in the tree under ``base``."""
    try:
        return path.resolve().is_relative_to(base.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


@dataclass(frozen=True)
class SecretRef:
    """Where to read a secret at apply time: an environment variable or a file.

    A relative ``file`` is relative to the directory of the playbook that names it.
    """

    env: str | None = None
    file: str | None = None

    def __str__(self) -> str:
        return f"{{env: {self.env}}}" if self.env is not None else f"{{file: {self.file}}}"

    def resolve(self, base_dir: str | os.PathLike[str] = ".", environ: Mapping[str, str] | None = None) -> str:
        """The secret itself. Raises `LookupError` naming the variable or file, never the value."""
        if self.env is not None:
            env = os.environ if environ is None else environ
            if self.env not in env:
                raise LookupError(f"environment variable {self.env} is not set")
            return env[self.env]
        assert self.file is not None
        path = Path(self.file).expanduser()
        if not path.is_absolute():
            path = Path(base_dir) / path
        if not files_anywhere(environ) and not _inside(path, Path(base_dir)):
            raise LookupError(f"secret file {self.file} is outside the playbook's directory {base_dir} "
                              f"(set {ANYWHERE_ENV}=1 to allow it)")
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise LookupError(f"cannot read secret file {path}: {error.strerror}") from None
        except UnicodeDecodeError as error:  # a binary file, or another encoding: the position, never the bytes
            raise LookupError(f"secret file {path} is not UTF-8 text (byte {error.start}): "
                              f"save it as UTF-8, one line") from None


@dataclass(frozen=True)
class ResolvedSecret:
    """A secret read from its reference before diffing, so that a diff compares it without I/O.

    ``base_dir`` is the absolute directory a relative ``{file: ...}`` was read from (a saved
    plan applies from any working directory). The value never shows: not in ``repr``, not in
    ``str`` (which names the reference)."""

    ref: SecretRef
    base_dir: str
    value: str = field(repr=False)

    def __str__(self) -> str:
        return str(self.ref)
