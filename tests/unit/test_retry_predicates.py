"""Which failures the client retries, which may have taken effect, and how long it waits."""

from __future__ import annotations

import random

import pytest
from tenacity import RetryCallState

from orchestrator.api.errors import (
    BadRequest,
    Conflict,
    ModuleNotInstalled,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)
from orchestrator.api.retry import (
    Policy,
    RetrySettings,
    is_retryable,
    may_have_applied,
    wait_full_jitter_or_retry_after,
)

WHERE = {"method": "POST", "path": "/captions"}


def response(cls: type, status: int, **kwargs: object) -> Exception:
    return cls("x", status=status, **WHERE, **kwargs)  # type: ignore[no-any-return]


NEVER_SENT = TransportError("connect failed", maybe_applied=False, **WHERE)
LOST = TransportError("read timeout", maybe_applied=True, **WHERE)


@pytest.mark.parametrize("policy", [Policy.READ, Policy.IDEMPOTENT, Policy.CREATE_CONFLICT_OK, Policy.CREATE_READBACK])
@pytest.mark.parametrize(("exc", "retried"), [
    (NEVER_SENT, True),
    (LOST, True),
    (response(RateLimited, 429), True),
    (response(ServerError, 500), True),
    (response(ServerError, 502), True),
    (response(ServerError, 503), True),
    (response(ServerError, 504), True),
    (response(ModuleNotInstalled, 503), False),  # waiting will not install a module
    (response(BadRequest, 400), False),
    (response(NotFound, 404), False),
    (response(Conflict, 409), False),
    (response(ValidationFailed, 422), False),
    (ValueError("not ours"), False),
])
def test_what_is_retried(policy: Policy, exc: Exception, retried: bool) -> None:
    assert is_retryable(exc, policy) is retried


def test_never_retries_only_what_was_never_sent() -> None:
    assert is_retryable(NEVER_SENT, Policy.NEVER)
    assert not is_retryable(LOST, Policy.NEVER)
    assert not is_retryable(response(ServerError, 500), Policy.NEVER)
    assert not is_retryable(response(RateLimited, 429), Policy.NEVER)


@pytest.mark.parametrize(("exc", "maybe"), [
    (NEVER_SENT, False),
    (LOST, True),
    (response(RateLimited, 429), False),   # not processed
    (response(ServerError, 503), False),   # not processed
    (response(ServerError, 500), True),
    (response(ServerError, 502), True),
    (response(ServerError, 504), True),
    (response(ModuleNotInstalled, 503), False),
    # a definite answer: the server says it did nothing with the request
    (response(BadRequest, 400), False),
    (response(NotFound, 404), False),
    (response(Conflict, 409), False),
    (response(ValidationFailed, 422), False),
    (ValueError("not ours"), False),
])
def test_what_may_have_applied(exc: Exception, maybe: bool) -> None:
    assert may_have_applied(exc) is maybe


def _state(attempt: int, exc: BaseException) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


def test_waits_are_full_jitter_capped_and_honour_retry_after() -> None:
    settings = RetrySettings(backoff_base=0.5, backoff_max=8.0)
    wait = wait_full_jitter_or_retry_after(settings, random.Random(7))
    for attempt in range(1, 12):
        cap = min(8.0, 0.5 * 2 ** (attempt - 1))
        waits = [wait(_state(attempt, LOST)) for _ in range(50)]
        assert all(0 <= w <= cap for w in waits)
        assert max(waits) > cap / 2  # jittered over the whole range, not a fixed step
    told = response(RateLimited, 429, retry_after=3.0)
    assert all(wait(_state(1, told)) >= 3.0 for _ in range(20))
    # A Retry-After of a year is capped, not obeyed.
    year = response(RateLimited, 429, retry_after=365 * 86400.0)
    assert wait(_state(1, year)) == 8.0
