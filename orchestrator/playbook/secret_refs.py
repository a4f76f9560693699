"""Secrets in playbooks: only ever by reference, ``{env: VAR}`` or ``{file: path}``.

Playbooks live in git and are pasted into pull requests, so a password or an API key written
into one is leaked the moment it is committed. The loader therefore refuses any secret written
inline, wherever it appears, before the schema is even consulted, and its messages never repeat
the secret. Where a secret belongs (an account's ``password``, a ``proxy`` with credentials) a
`SecretRef` names where to read it at apply time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FilePath

from orchestrator.playbook.positions import Path, walk

#: Keys whose value is a secret by name. A scalar under one of them is always an error.
SECRET_KEY = re.compile(
    r"^(password|passwd|pwd|secret|token|api_?key|access_?token|client_secret"
    r"|.+_(password|passwd|secret|token|api_?key))$",
    re.IGNORECASE,
)
#: A Sharingtools API key, wherever it appears.
API_KEY = re.compile(r"\bsht_[0-9a-fA-F]{16,}")
#: ``scheme://user:pass@host`` or ``user:pass@host:port``: a proxy carrying its credentials.
PROXY_CREDENTIALS = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?[^\s/@:]+:[^\s/@]+@")
#: Keys whose string value is a proxy.
PROXY_KEYS = frozenset({"proxy", "custom_proxy"})
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Set to 1 to let ``{file: ...}`` read outside the playbook's directory tree. Off by default: a
#: pull request could otherwise make apply read any local file and send it to the server.
ANYWHERE_ENV = "SHARINGTOOLS_SECRET_FILES_ANYWHERE"


def files_anywhere(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``{file: ...}`` references may point outside the playbook's directory."""
    env = os.environ if environ is None else environ
    return env.get(ANYWHERE_ENV, "").strip().lower() in ("1", "true", "yes")


def _inside(path: FilePath, base: FilePath) -> bool:
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
        path = FilePath(self.file).expanduser()
        if not path.is_absolute():
            path = FilePath(base_dir) / path
        if not files_anywhere(environ) and not _inside(path, FilePath(base_dir)):
            raise LookupError(f"secret file {self.file} is outside the playbook's directory {base_dir} "
                              f"(set {ANYWHERE_ENV}=1 to allow it)")
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise LookupError(f"cannot read secret file {path}: {error.strerror}") from None


@dataclass(frozen=True)
class InlineSecret:
    """A secret found written into a playbook: where, and what to do instead."""

    path: Path
    on_key: bool  # point at the key (the value is the secret: never show it)
    message: str
    hint: str


def find_inline_secrets(data: object) -> list[InlineSecret]:
    """Every secret written inline in a loaded document, in document order."""
    found: list[InlineSecret] = []
    for path, value in walk(data):
        key = path[-1]
        scalar = isinstance(value, (str, int, float, bool))
        if isinstance(key, str) and SECRET_KEY.match(key) and scalar:
            found.append(InlineSecret(
                path, True,
                f"secret `{key}` is written inline",
                f"reference it instead: `{key}: {{env: VARIABLE}}` or `{key}: {{file: path}}`",
            ))
        elif isinstance(value, str) and API_KEY.search(value):
            found.append(InlineSecret(
                path, True,
                "an API key is written inline",
                "playbooks never hold the API key: set SHARINGTOOLS_API_KEY in the environment",
            ))
        elif isinstance(key, str) and key in PROXY_KEYS and isinstance(value, str) and PROXY_CREDENTIALS.match(value):
            found.append(InlineSecret(
                path, True,
                f"`{key}` carries a username and password inline",
                f"reference the whole proxy instead: `{key}: {{env: VARIABLE}}` or `{key}: {{file: path}}`",
            ))
    return found


def secret_ref_problem(value: object) -> tuple[str, str | None] | None:
    """(message, hint) when ``value`` is not a valid ``{env: VAR}`` / ``{file: path}``, else None."""
    if not isinstance(value, Mapping):
        return "must be a secret reference", "write `{env: VARIABLE}` or `{file: path}`"
    keys = set(value)
    if keys not in ({"env"}, {"file"}):
        unknown = sorted(str(k) for k in keys - {"env", "file"})
        if unknown:
            return (f"unknown key `{unknown[0]}` in a secret reference",
                    "a secret reference is `{env: VARIABLE}` or `{file: path}`")
        return "a secret reference names one source", "give either `env` or `file`, not both"
    if "env" in value:
        name = value["env"]
        if not isinstance(name, str) or not ENV_NAME.match(name):
            return (f"`{name}` is not an environment variable name",
                    "use letters, digits and `_`, such as `FASHION_PROXY`")
    else:
        path = value["file"]
        if not isinstance(path, str) or not path.strip():
            return "`file` must be a path", "such as `secrets/proxy.txt`"
        if not files_anywhere() and _escapes(path):
            return (f"secret file `{path}` is outside the playbook's directory",
                    f"keep secret files under the playbook's directory, or set {ANYWHERE_ENV}=1")
    return None


def _escapes(path: str) -> bool:
    """Whether a relative-to-the-playbook path leaves its directory, as written (absolute, ``~``,
    or ``..`` past the top); symbolic links are checked when the file is read."""
    if path.startswith("~") or os.path.isabs(path) or "\0" in path:
        return True
    return os.path.normpath(path).split(os.sep)[0] == ".."
