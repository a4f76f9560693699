"""Sharingtools Orchestrator: campaign configuration as code for Sharingtools installations."""

__version__ = "0.1.0"
