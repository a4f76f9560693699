"""The managed kinds, one package each (``kinds/<name>/``); a `KindRegistry` maps a `Kind` to its handler.

Adding a kind: its facts in ``contract/kinds.py`` (the registry of kinds: label, shape), a
package ``kinds/<name>/`` with a `KindHandler` subclass (see ``kinds/base.py``; a shape's
shared handler is in ``kinds/schedules.py`` or ``kinds/toggles.py``) listed in
`KindRegistry.default`, its API resource and its emulator module.
"""

from orchestrator.kinds.base import (
    AccountIssue,
    FleetReadFailed,
    KindHandler,
    LibraryReadFailed,
    Memory,
    Op,
    Operation,
    ProcessMemory,
    ReadContext,
    ReadResult,
)
from orchestrator.kinds.registry import KindRegistry

__all__ = ["AccountIssue", "FleetReadFailed", "KindHandler", "KindRegistry", "LibraryReadFailed", "Memory", "Op",
           "Operation", "ProcessMemory", "ReadContext", "ReadResult"]
