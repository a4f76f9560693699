"""Repost Pro: repost sources, captions and speed, one schedule per account."""

from orchestrator.contract import Kind
from orchestrator.kinds.schedules import ScheduleKind


class RepostKind(ScheduleKind):
    kind = Kind.REPOST
    resource = "repost"
