"""Reactions Pro: like/follow/unfollow campaigns, one schedule per account."""

from orchestrator.kinds.schedules import ScheduleKind
from orchestrator.playbook import Kind


class ReactionsKind(ScheduleKind):
    kind = Kind.REACTIONS
    label = "Reactions Pro"
    resource = "reactions"
