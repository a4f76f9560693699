"""Async client for the Sharingtools REST API v1. See ``client.SharingtoolsClient``."""

from orchestrator.api.client import SharingtoolsClient
from orchestrator.api.errors import *  # noqa: F403 - the error tree is part of the public API
from orchestrator.api.retry import Policy, RetrySettings

__all__ = ["Policy", "RetrySettings", "SharingtoolsClient"]
