"""Secrets in playbooks: only ever by reference, ``{env: VAR}`` or ``{file: path}``.

Playbooks live in git and are pasted into pull requests, so a password or an API key written
into one is leaked the moment it is committed. The loader therefore refuses any secret written
inline, wherever it appears, before the schema is even consulted, and its messages never repeat
the secret. Where a secret belongs (an account's ``password``, a ``proxy`` with credentials) a
`SecretRef` names where to read it at apply time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import os

from orchestrator.contract.secrets import ANYWHERE_ENV, SecretRef, files_anywhere
from orchestrator.playbook.positions import Path, walk

__all__ = ["SecretRef", "InlineSecret", "find_inline_secrets", "secret_ref_problem"]

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
