"""The plan as data: `Change`, `Plan`, `Blocked`, fingerprints, and how one change reads.

Nothing here reads, writes or renders: the planner (``orchestrator.planning``) makes plans,
the engine (``orchestrator.apply``) carries them out, ``orchestrator.render`` shows them.
"""

from orchestrator.contract.vocabulary import Action
from orchestrator.plan.blocked import Blocked
from orchestrator.plan.change import ACTION_ORDER, COLOUR, SYMBOL, Change, canonical, describe, fingerprint, value_text
from orchestrator.plan.model import FORMAT_VERSION, Plan, plan_checksum
from orchestrator.plan.windows import PlanWindows, Transition, TransitionChange

__all__ = ["ACTION_ORDER", "COLOUR", "FORMAT_VERSION", "SYMBOL", "Action", "Blocked", "Change", "Plan", "canonical",
           "describe", "fingerprint", "plan_checksum", "value_text", "PlanWindows", "Transition", "TransitionChange"]
