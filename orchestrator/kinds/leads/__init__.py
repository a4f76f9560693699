"""The leads kind: Leads Finder. ``handler``: read, diff, operations, execute."""

from orchestrator.kinds.leads.handler import LeadsKind

__all__ = ["LeadsKind"]
