"""The status page: the fleet at a glance, its accounts, runs and drift, read-only, from the
state database (``queries``), as HTML and JSON (``app``), served beside the reconcile loop's
metrics or on its own (``serve``). See README "Status page"."""

from orchestrator.status.app import LoopFacts, create_status_app

__all__ = ["LoopFacts", "create_status_app"]
