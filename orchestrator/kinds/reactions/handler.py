"""Reactions Pro: like/follow/unfollow campaigns, one schedule per account."""

from orchestrator.contract import Kind
from orchestrator.kinds.schedules import ScheduleKind


class ReactionsKind(ScheduleKind):
    kind = Kind.REACTIONS
    resource = "reactions"
