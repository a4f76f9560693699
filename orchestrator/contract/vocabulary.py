"""One typed vocabulary for the words every layer uses: what a change does, when it runs,
how a run ended, what became of a drift, how reconcile acts, and the exit codes.

Each is a `StrEnum` (or `IntEnum` for exit codes), so it compares equal to the string (or
number) that JSON, the state database, metrics labels and shells see, and a value that
drifted from the list fails where it is made (``Action("udpate")`` raises) instead of
silently matching nothing.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Phase(IntEnum):
    """When an operation runs within one account: off first, so nothing runs while it is
    being changed; edits; on last, once targets and settings are in."""

    OFF = 0
    EDIT = 1
    ON = 2


class Action(StrEnum):
    """What one `Change` does. Carries its order within an account, its symbol in a plan,
    and the phase of the operation that realises it."""

    PAUSE = "pause"
    STOP = "stop"
    DELETE = "delete"
    REMOVE = "remove"
    UPDATE = "update"
    SET = "set"
    CREATE = "create"
    ADD = "add"
    ACTIVATE = "activate"
    START = "start"

    @property
    def order(self) -> int:
        """Pauses first, then deletions and removals, edits, creations, activations last."""
        return _ORDER[self]

    @property
    def symbol(self) -> str:
        return _SYMBOL[self]

    @property
    def phase(self) -> Phase:
        if self in (Action.PAUSE, Action.STOP):
            return Phase.OFF
        if self in (Action.ACTIVATE, Action.START):
            return Phase.ON
        return Phase.EDIT

    @property
    def switches_on(self) -> bool:
        return self in (Action.ACTIVATE, Action.START)

    @property
    def switches_off(self) -> bool:
        return self in (Action.PAUSE, Action.STOP)


_ORDER = {Action.PAUSE: 0, Action.STOP: 0, Action.DELETE: 1, Action.REMOVE: 2, Action.UPDATE: 3, Action.SET: 3,
          Action.CREATE: 4, Action.ADD: 5, Action.ACTIVATE: 6, Action.START: 6}
_SYMBOL = {Action.CREATE: "+", Action.ADD: "+", Action.ACTIVATE: "▶", Action.START: "▶", Action.UPDATE: "~",
           Action.SET: "~", Action.REMOVE: "-", Action.DELETE: "-", Action.PAUSE: "⏸", Action.STOP: "⏸"}


class ScheduleState(StrEnum):
    """A schedule's state as playbooks and plans say it (the API's ``is_active`` flag)."""

    ACTIVE = "active"
    PAUSED = "paused"


class TaskState(StrEnum):
    """A Leads Finder task's state."""

    RUNNING = "running"
    STOPPED = "stopped"


class RunStatus(StrEnum):
    """How a run ended, as the history records it."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    REPORTED = "reported"
    PARTIAL = "partial"
    FAILED = "failed"
    BLOCKED = "blocked"
    INTERRUPTED = "interrupted"

    @property
    def resumable(self) -> bool:
        """A run whose journal `apply --resume` may continue."""
        return self in (RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.PARTIAL)


class OpStatus(StrEnum):
    """Where one journaled operation stands.

    ``pending``: journaled, sent or about to be, no end recorded (a run that died leaves it so);
    ``done`` and ``failed``: its answer came; ``in_doubt``: it was sent and no trustworthy answer
    came (cancelled in flight, or an answer lost that a read-back did not find), so it may still
    take effect on the server; ``resolved``: an operation in doubt that a later run found had
    not taken effect (or whose repeat is harmless). One found to have taken effect is ``done``."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"
    RESOLVED = "resolved"

    @property
    def unsettled(self) -> bool:
        """An operation whose effect on the server is not known (pending or in doubt)."""
        return self in (OpStatus.PENDING, OpStatus.IN_DOUBT)


class DriftOutcome(StrEnum):
    """What a reconcile cycle did about one difference it found. ``fixed`` only when it was
    sent, answered done and re-read by its wave's verify; ``interrupted``: sent, but the cycle
    was stopped before it verified it; ``not_started``: never sent (a halted wave, a cycle
    stopped first). See ``orchestrator.reconcile.outcomes``."""

    FIXED = "fixed"
    FAILED = "failed"
    UNVERIFIED = "unverified"
    REPORTED = "reported"
    HELD = "held"
    BACKED_OFF = "backed_off"
    BLOCKED = "blocked"
    NOT_STARTED = "not_started"
    INTERRUPTED = "interrupted"


class ReconcileMode(StrEnum):
    """``reconcile --mode``: fix what drifted, or only report it."""

    FIX = "fix"
    REPORT = "report"


class ExitCode(IntEnum):
    """The exit codes the README gives, for every command."""

    OK = 0
    ERROR = 1
    CHANGES = 2          # plan --detailed-exitcode: changes present; reconcile: drift reported
    BLOCKED = 3          # the safety policy held the writes
    PARTIAL = 4          # some accounts failed or did not verify
    INTERRUPTED = 130    # SIGINT (128 + 2)
    TERMINATED = 143     # SIGTERM (128 + 15)


#: The run status each exit code records.
STATUS_OF_EXIT: dict[int, RunStatus] = {
    ExitCode.OK: RunStatus.SUCCEEDED, ExitCode.ERROR: RunStatus.FAILED, ExitCode.BLOCKED: RunStatus.BLOCKED,
    ExitCode.PARTIAL: RunStatus.PARTIAL, ExitCode.INTERRUPTED: RunStatus.INTERRUPTED,
    ExitCode.TERMINATED: RunStatus.INTERRUPTED,
}


class AccountState(StrEnum):
    """Where one account stands after the last reconcile cycle that judged it (the status page's
    fleet view). When several apply, the one that asks the most of a person is its state:
    failed, then backed off, blocked, drifted; in sync only when nothing is left to do."""

    IN_SYNC = "in_sync"          # read, and nothing differs (any drift found was fixed and verified)
    DRIFTED = "drifted"          # differences left as they are: reported, held, not started, interrupted
    BLOCKED = "blocked"          # a change the server would undo or refuse waits on a person
    FAILED = "failed"            # a change failed or did not verify, or the account could not be read or planned
    BACKED_OFF = "backed_off"    # failed in earlier cycles: skipped until its backoff ends
    NOT_SEEN = "not_seen"        # on the installation's account list, never judged by a cycle
    UNMANAGED = "unmanaged"      # on the list, outside the playbooks' groups (or this --limit / --shard)
