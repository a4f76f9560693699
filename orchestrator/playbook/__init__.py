"""Playbooks: the YAML files that declare what accounts should look like.

The public interface, in the order a command uses it::

    from orchestrator import playbook

    problems = playbook.validate(["playbooks/"])        # static checks; [] when valid
    for problem in problems:
        print(problem)                                  # file:line:col: message; hint

    book = playbook.load(["playbooks/"])                # raises PlaybookError(diagnostics)
    desired = playbook.desired_state(book, accounts)    # accounts: the live list (id, username)
    for account, kind, want in desired.items():
        ...                                             # ScheduleDesired, ToggleDesired, ...
        # every value is Sourced(value, source=Position(file, line, col))

Nothing in this package performs network I/O; the caller reads the live accounts (and, for
`check_live_settings`, a live settings object) and passes them in. The format is documented in
the README (section "Playbook reference").
"""

from orchestrator.playbook.desired import (
    ACCOUNT_KINDS,
    AccountDesired,
    CaptionsDesired,
    CommentScheduleDesired,
    CommentTarget,
    DesiredState,
    FirstCommentDesired,
    Kind,
    KindDesired,
    LeadsDesired,
    ScheduleDesired,
    Target,
    ToggleDesired,
    desired_state,
)
from orchestrator.playbook.errors import Diagnostic, PlaybookError
from orchestrator.playbook.groups import Account, GoneAccount, resolve_groups
from orchestrator.playbook.loader import Source
from orchestrator.playbook.model import CaptionsBlock, Entry, Group, Playbook, Policy
from orchestrator.playbook.positions import Position, Sourced
from orchestrator.playbook.schema import Limit, json_schema
from orchestrator.playbook.secret_refs import SecretRef
from orchestrator.playbook.validation import (
    check_live_settings,
    load,
    load_sources,
    loads,
    validate,
    validate_sources,
)

__all__ = [
    # loading and checking
    "load", "loads", "load_sources", "validate", "validate_sources", "check_live_settings", "json_schema",
    # selection and precedence
    "resolve_groups", "desired_state", "GoneAccount",
    # types
    "Account", "Diagnostic", "PlaybookError", "Position", "Sourced", "Source", "SecretRef", "Limit",
    "Playbook", "Group", "Entry", "CaptionsBlock", "Policy",
    "DesiredState", "Kind", "ACCOUNT_KINDS", "KindDesired", "ScheduleDesired", "Target", "ToggleDesired",
    "LeadsDesired", "FirstCommentDesired", "CommentScheduleDesired", "CommentTarget", "AccountDesired",
    "CaptionsDesired",
]
