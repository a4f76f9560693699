"""Playbooks: the YAML files that declare what accounts should look like.

The public interface, in the order a command uses it::

    from orchestrator import playbook

    problems = playbook.validate(["playbooks/"])        # static checks; [] when valid
    for problem in problems:
        print(problem)                                  # file:line:col: message; hint

    book = playbook.load(["playbooks/"])                # raises PlaybookError(diagnostics)
    desired = playbook.desired_state(book, accounts)    # accounts: the live list (id, username)
    for account, kind, want in desired.items():
        ...                                             # orchestrator.contract.ScheduleDesired, ...
        # every value is Sourced(value, source=Position(file, line, col))

The types of the desired state (`Kind`, `DesiredState`, `ScheduleDesired`, `Sourced`, ...) are
the engine's contract and live in `orchestrator.contract`. The engine imports from this
package only what loads a playbook and turns it into desired state.

Nothing in this package performs network I/O; the caller reads the live accounts (and, for
`check_live_settings`, a live settings object) and passes them in. The format is documented in
the README (section "Playbook reference").
"""

from orchestrator.playbook.errors import Diagnostic, PlaybookError
from orchestrator.playbook.groups import resolve_groups
from orchestrator.playbook.loader import Source
from orchestrator.playbook.merge import (
    desired_state,
    limited_to,
    next_window_event,
    open_windows,
    window_events,
    window_states,
)
from orchestrator.playbook.model import CaptionsBlock, Entry, Group, Playbook
from orchestrator.playbook.schema import json_schema
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
    # selection and precedence: producing the contract's DesiredState
    "resolve_groups", "desired_state", "limited_to",
    # windows (`when:`): which entries apply when
    "window_events", "next_window_event", "window_states", "open_windows",
    # types
    "Diagnostic", "PlaybookError", "Source", "Playbook", "Group", "Entry", "CaptionsBlock",
]
