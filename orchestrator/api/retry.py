"""Which calls may be retried, and how long to wait.

Every endpoint method declares a ``Policy``:

- ``READ``: GETs. Retried on 429, 5xx (and 202), timeouts and connection errors, and on a
  2xx that is an HTML page, an empty or a cut-off body (``UnexpectedAnswer.transient``: what
  a gateway or a maintenance window sends); the same for the policies below but ``NEVER``.
- ``IDEMPOTENT``: writes whose repetition is harmless (settings PATCH, activate, pause,
  DELETE, set-public, change-proxy to a given proxy, bulk activate/pause/stop): the same
  retries as reads.
- ``CREATE_CONFLICT_OK``: creates whose duplicate the server detects (a target add): retried
  like the above, and a 409 on a *retry* means the first attempt took effect: success.
- ``CREATE_READBACK``: creates the server does not deduplicate (captions, first-comment
  schedules, posts, post-actions jobs, replies): after an answer that leaves it unknown
  whether the create took effect (a timeout, a dropped connection, a 500/502/504), the
  caller's ``readback`` is asked first and the create is resent only if nothing was made;
  after a timeout, where the server may still be working on the request and apply it after
  the read-back, a create the read-back does not find is not resent but raised as in doubt
  (``TransportError.in_doubt``: the run journals it so, and a later run reads back again).
  429 and 503 mean "not processed" and are resent directly; a connection that never
  opened is always safe to retry.
- ``NEVER``: not retried (for example a password change: a repeat is harmless but a retry
  loop on credentials is not what a user expects).

Waits: exponential backoff with full jitter (AWS's recommendation), at least the server's
``Retry-After``, bounded attempts and a total deadline per call. The loop itself is
``Transport.call``'s (tenacity's rules: a retry only for what ``is_retryable`` allows, then
stop after ``attempts`` or once ``deadline`` seconds have passed since the first attempt, then
wait): tenacity's own loop, built for every call, was about a third of the client's own CPU
per call (``bench/client_cpu.py``), for the retries a few calls make.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from tenacity import RetryCallState
from tenacity.wait import wait_base

from orchestrator.api.errors import RateLimited, ResponseError, ServerError, TransportError, UnexpectedAnswer

RETRY_STATUSES = frozenset({202, 429, 500, 502, 503, 504})
NOT_PROCESSED_STATUSES = frozenset({429, 503})


class Policy(enum.Enum):
    READ = "read"
    IDEMPOTENT = "idempotent"
    CREATE_CONFLICT_OK = "create-conflict-ok"
    CREATE_READBACK = "create-readback"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class RetrySettings:
    attempts: int = 6
    deadline: float = 120.0
    backoff_base: float = 0.25
    backoff_max: float = 20.0
    #: Seconds after which a request that got no answer is taken never to take effect on the
    #: server any more (None: the call's deadline or 60 s, whichever is larger). An operation in
    #: doubt younger than this holds its account's creates of its kind (``orchestrator.apply.doubt``).
    settle: float | None = None

    @property
    def settle_time(self) -> float:
        """``settle``, or by default the call's deadline or 60 s, whichever is larger."""
        return self.settle if self.settle is not None else max(self.deadline, 60.0)


def is_retryable(exc: BaseException, policy: Policy) -> bool:
    if policy is Policy.NEVER:
        return isinstance(exc, TransportError) and not exc.maybe_applied
    if isinstance(exc, TransportError):
        return not exc.in_doubt  # a create that may still take effect is never resent
    if isinstance(exc, UnexpectedAnswer):
        # A maintenance page or a cut-off body passes like a 503; a well-formed answer of the
        # wrong shape is the server's own and would come back the same.
        return exc.transient
    if isinstance(exc, ResponseError):
        # A 503 naming a missing module is ModuleNotInstalled, not ServerError: it will not
        # go away by waiting, so it is not retried.
        return exc.status in RETRY_STATUSES and isinstance(exc, (RateLimited, ServerError))
    return False


def may_have_applied(exc: BaseException) -> bool:
    """Did the failed attempt perhaps take effect on the server?

    Only an answer that leaves it open: none at all (a timeout or a dropped connection once the
    request was sent) or a 5xx that may hide a write (500, 502, 504). A 4xx is the server
    saying what it did with the request, which is nothing (400, 401, 403, 404, 409, 422, and
    202 "try again later"); 429 and 503 mean "not processed". An answer that is not the API's
    (`UnexpectedAnswer`) leaves it open too. Each answer taken as "may have applied" costs a
    read-back before anything is sent again."""
    if isinstance(exc, TransportError):
        return exc.maybe_applied
    if isinstance(exc, UnexpectedAnswer):
        # Not the API's answer (a cut-off body, a proxy's page): it says nothing of what the
        # server did with the request, so a write may well have been made.
        return True
    if isinstance(exc, ResponseError):
        return exc.status is not None and exc.status >= 500 and exc.status not in NOT_PROCESSED_STATUSES
    return False


class wait_full_jitter_or_retry_after(wait_base):
    """Full-jitter exponential backoff, never shorter than the server's Retry-After."""

    def __init__(self, settings: RetrySettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.rng = rng or random.Random()

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        return self.delay(retry_state.attempt_number, outcome.exception() if outcome is not None else None)

    def delay(self, attempt: int, exc: BaseException | None) -> float:
        """The wait after attempt number ``attempt`` failed with ``exc``."""
        cap = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (attempt - 1))
        wait = self.rng.uniform(0, cap)
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self.settings.backoff_max))
        return wait
