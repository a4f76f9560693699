"""Async client for the Sharingtools REST API v1. See ``client.SharingtoolsClient``.

The client and its retry policy are imported on first use (PEP 562): the error tree is all
the command line needs before it knows which command runs, and importing the client pulls
httpx, aiohttp and pydantic's models in (most of a second-long start-up, for `--version` and
`validate` that never call the API).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orchestrator.api.errors import *  # noqa: F403 - the error tree is part of the public API

if TYPE_CHECKING:
    from orchestrator.api.client import SharingtoolsClient
    from orchestrator.api.retry import Policy, RetrySettings

__all__ = ["Policy", "RetrySettings", "SharingtoolsClient"]

#: Name -> the module that defines it, imported when the name is first asked for.
_LAZY = {
    "SharingtoolsClient": "orchestrator.api.client",
    "Policy": "orchestrator.api.retry",
    "RetrySettings": "orchestrator.api.retry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come here
    return value
