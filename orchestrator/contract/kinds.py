"""The managed kinds: one per API module the orchestrator configures, and the facts about each
that the layers above share (the registry of kinds: the only list of them outside ``kinds/``).

A layer that needs to treat kinds differently asks a kind's `KindInfo` (its `Shape`, whether
the server switches its schedules off, whether ``import`` writes it) instead of naming kinds,
so adding a kind is its entry here, its package under ``orchestrator/kinds/``, its API
resource and its emulator module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """A managed kind: the playbook key, and the name ``kinds/`` packages use.

    A `StrEnum`, so it compares equal to its value and serialises as it (JSON, saved plans)."""

    ACCOUNT = "account"
    REACTIONS = "reactions"
    REPOST = "repost"
    WELCOMEDM = "welcomedm"
    AI_DM = "ai_dm"
    LEADS = "leads"
    FIRST_COMMENT = "first_comment"
    POSTS = "posts"
    CAPTIONS = "captions"  # per user, not per account: `DesiredState.captions`


class Shape(StrEnum):
    """What a kind's desired state looks like, which decides how it is written, merged and imported."""

    ACCOUNT = "account"              # account-level settings (proxy, password)
    SCHEDULE = "schedule"            # one schedule per account: state, settings, targets
    TOGGLE = "toggle"                # one schedule per account, on or off
    TASKS = "tasks"                  # named tasks per account, running or stopped
    COMMENT_SCHEDULES = "comment_schedules"  # named schedules per account, each with targets
    POSTS = "posts"                  # named posts per account, each at its own time (a content calendar)
    LIBRARY = "library"              # per user, keyed by title


@dataclass(frozen=True, slots=True)
class KindInfo:
    """The facts about one kind that layers other than its own package need."""

    kind: Kind
    label: str                # as the API reference names the module
    shape: Shape
    switched: bool            # the server's engine switches its schedules off on an account that cannot run them
    per_account: bool = True  # False: the user's (the caption library)


KINDS: tuple[KindInfo, ...] = (
    KindInfo(Kind.ACCOUNT, "Account", Shape.ACCOUNT, switched=False),
    KindInfo(Kind.REACTIONS, "Reactions Pro", Shape.SCHEDULE, switched=True),
    KindInfo(Kind.REPOST, "Repost Pro", Shape.SCHEDULE, switched=True),
    KindInfo(Kind.WELCOMEDM, "Welcome DM", Shape.TOGGLE, switched=True),
    KindInfo(Kind.AI_DM, "AI-DM", Shape.TOGGLE, switched=True),
    KindInfo(Kind.LEADS, "Leads Finder", Shape.TASKS, switched=True),
    KindInfo(Kind.FIRST_COMMENT, "First Comment", Shape.COMMENT_SCHEDULES, switched=True),
    KindInfo(Kind.POSTS, "Posts", Shape.POSTS, switched=False),
    KindInfo(Kind.CAPTIONS, "Captions", Shape.LIBRARY, switched=False, per_account=False),
)
INFO: dict[Kind, KindInfo] = {info.kind: info for info in KINDS}


def info(kind: Kind) -> KindInfo:
    """The facts of ``kind``."""
    return INFO[kind]


def of_shape(*shapes: Shape) -> tuple[Kind, ...]:
    """The kinds of these shapes, in `Kind` order."""
    return tuple(i.kind for i in KINDS if i.shape in shapes)


#: Per-account kinds, in the order plan reports them (and playbook entries list them).
ACCOUNT_KINDS: tuple[Kind, ...] = tuple(i.kind for i in KINDS if i.per_account)
#: Kinds whose schedules the server's engine switches off on an account that cannot run them.
SWITCHED_KINDS: frozenset[Kind] = frozenset(i.kind for i in KINDS if i.switched)

assert [i.kind for i in KINDS] == list(Kind), "every Kind has its KindInfo, in Kind order"
