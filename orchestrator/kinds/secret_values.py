"""Secrets in changes, whichever side they come from.

- **Ours** (a playbook's ``{env: X}`` / ``{file: path}``): resolved before the diff (the
  kind's ``resolve``) to compare with the live value, never carried. A change shows
  ``*** ({env: X})`` and carries only the reference
  (`reference`), which the executor resolves again at the moment it sends the call
  (`resolve_fields`). Journal, saved plan and report see the reference only.
- **The server's** (a proxy set in the web panel with ``user:pass@``, any value under a key named
  like a secret): masked as the "before" of a change by `shown_live`, so plan text, Markdown,
  JSON, saved plans and apply output never print it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.log import MASK, redact_value, register_secret
from orchestrator.contract import ResolvedSecret, SecretRef, Sourced

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The marker of a reference inside an operation's ``fields``: ``{SECRET_FIELD: reference}``.
SECRET_FIELD = "$secret"


def base_dir(file: str) -> str:
    """The directory a playbook's relative ``{file: ...}`` references are read from, made
    absolute so that a saved plan applies from any working directory."""
    return str(Path(file).resolve().parent)


def resolve_secret(want: Sourced[SecretRef]) -> ResolvedSecret:
    """The secret a playbook value names, read for diffing (and registered for redaction).
    `LookupError` names the value's place and reference, never a secret."""
    base = base_dir(want.source.file)
    try:
        secret = want.value.resolve(base)
    except LookupError as exc:
        raise LookupError(f"{want.value} ({want.source}): {exc}") from None
    register_secret(secret)
    return ResolvedSecret(want.value, base, secret)


def reference(secret: ResolvedSecret) -> dict[str, Any]:
    """What a change carries for a secret: where to read it, never its value."""
    return {"env": secret.ref.env, "file": secret.ref.file, "base_dir": secret.base_dir}


def resolve(ref: Mapping[str, Any]) -> str:
    """The secret a `reference` names, read at apply time (registered for redaction)."""
    secret = SecretRef(env=ref.get("env"), file=ref.get("file")).resolve(str(ref.get("base_dir") or "."))
    register_secret(secret)
    return secret


def shown(secret: ResolvedSecret) -> str:
    """How a change shows a secret it sets."""
    return f"{MASK} ({secret.ref})"


def shown_live(path: str, value: Any) -> Any:
    """A live value as a change may show it: credentials in URLs and values under secret-named
    keys masked (the last segment of ``path`` names the value)."""
    name = path.rsplit(".", 1)[-1]
    # Only a field name counts (``settings.api_token``), never a label inside brackets: a target
    # ``hashtag:secretgarden`` is no secret, and its "before" is what a removal needs.
    return redact_value(value, name if _FIELD.fullmatch(name) else "")


def resolve_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Settings fields to send: each ``{SECRET_FIELD: reference}`` replaced by its secret."""
    return {k: resolve(v[SECRET_FIELD]) if isinstance(v, Mapping) and SECRET_FIELD in v else v
            for k, v in fields.items()}
