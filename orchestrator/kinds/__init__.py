"""The managed kinds, one module each; ``KINDS`` maps a playbook kind to its handler."""

from orchestrator.contract import Kind
from orchestrator.kinds.account import AccountKind
from orchestrator.kinds.base import KindHandler, Operation, Problem, ReadContext, ReadResult
from orchestrator.kinds.captions import CaptionsKind
from orchestrator.kinds.first_comment import FirstCommentKind
from orchestrator.kinds.leads import LeadsKind
from orchestrator.kinds.reactions import ReactionsKind
from orchestrator.kinds.repost import RepostKind
from orchestrator.kinds.toggles import AiDmKind, WelcomeDmKind

KINDS: dict[Kind, KindHandler] = {
    handler.kind: handler
    for handler in (
        AccountKind(), ReactionsKind(), RepostKind(), WelcomeDmKind(), AiDmKind(), LeadsKind(),
        FirstCommentKind(), CaptionsKind(),
    )
}

__all__ = ["KINDS", "KindHandler", "Operation", "Problem", "ReadContext", "ReadResult"]
