"""Repost Pro: repost sources, captions and speed, one schedule per account."""

from orchestrator.kinds.schedules import ScheduleKind
from orchestrator.playbook import Kind


class RepostKind(ScheduleKind):
    kind = Kind.REPOST
    label = "Repost Pro"
    resource = "repost"
