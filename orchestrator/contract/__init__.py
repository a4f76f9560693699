"""The contract between the playbook and the engine: plain, immutable types and nothing else.

`orchestrator.playbook` produces these (a `DesiredState` per run); the planner, the kinds, the
safety policy and the executor consume them. This package imports nothing else of ours, so
either side can change its internals without the other noticing.

- `kinds`: `Kind`, the managed kinds, their facts (`KindInfo`, `Shape`: the registry of kinds) and
  `ACCOUNT_KINDS`, their order;
- `accounts`: `Account`, a live account as selection and planning see it, and `LIBRARY`;
- `sourced`: `Position` and `Sourced`, a value with the playbook line that asks for it;
- `desired`: the desired state per kind (`ScheduleDesired`, ...) and `DesiredState`;
- `limits`: `Limit` and the playbook's `Policy` limits;
- `secrets`: `SecretRef`, where to read a secret, and `ResolvedSecret`, one read for a diff;
- `target_types`: the target types each module accepts;
- `windows`: desired state in time: `WindowEvent`, `Withdrawal`, `Claim`.
"""

from orchestrator.contract.accounts import LIBRARY, LIBRARY_ID, Account, GoneAccount
from orchestrator.contract.desired import (
    AccountDesired,
    CaptionsDesired,
    CommentScheduleDesired,
    CommentTarget,
    DesiredState,
    FirstCommentDesired,
    KindDesired,
    LeadsDesired,
    MediaFile,
    PostDesired,
    PostsDesired,
    ScheduleDesired,
    Target,
    ToggleDesired,
)
from orchestrator.contract.kinds import ACCOUNT_KINDS, KINDS, SWITCHED_KINDS, Kind, KindInfo, Shape
from orchestrator.contract.limits import Limit, Policy
from orchestrator.contract.secrets import ResolvedSecret, SecretRef
from orchestrator.contract.sourced import Position, Sourced
from orchestrator.contract.windows import Claim, WindowEvent, Withdrawal

__all__ = [
    "ACCOUNT_KINDS", "KINDS", "LIBRARY", "LIBRARY_ID", "SWITCHED_KINDS", "Account", "AccountDesired",
    "CaptionsDesired", "Claim", "CommentScheduleDesired", "CommentTarget", "DesiredState", "FirstCommentDesired",
    "GoneAccount", "Kind", "KindDesired", "KindInfo", "LeadsDesired", "Limit", "MediaFile", "Policy", "Position",
    "PostDesired", "PostsDesired", "ResolvedSecret", "ScheduleDesired", "SecretRef", "Shape", "Sourced", "Target",
    "ToggleDesired", "WindowEvent", "Withdrawal",
]
