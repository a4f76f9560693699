"""Reads that fail stay with their accounts.

A kind reads many accounts at once (a list paged once, details fetched concurrently). When
that read fails after the client's retries, one bad answer must not sink the whole fleet's
plan: the read is tried again account by account, and only the accounts whose own read still
fails are left out, each recorded as a `AccountIssue` in ``failures``; every other account is
planned as usual. Refusals that concern the module rather than an account (403 module not
enabled, 503 module missing) keep their meaning and propagate to the planner.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from orchestrator.api.errors import ModuleNotEnabled, ModuleNotInstalled, SharingtoolsError
from orchestrator.kinds import KindHandler, AccountIssue, ReadContext, ReadResult
from orchestrator.contract import Account
from orchestrator.api.fanout import each


#: What reading an answer of an unexpected shape raises (a list where an object belongs, a
#: missing field, pydantic's ValidationError, which is a ValueError).
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError)


class UnexpectedAnswer(SharingtoolsError):
    """The server answered, but not in the shape the API documents (or a broken proxy answered)."""

    def __init__(self, what: str, error: BaseException) -> None:
        detail = " ".join(str(error).split())[:160]
        super().__init__(f"{what}: the server's answer is not what the API documents ({type(error).__name__}: "
                         f"{detail}); check SHARINGTOOLS_BASE_URL points at a Sharingtools API")


@contextmanager
def understood(what: str) -> Iterator[None]:
    """Turn an answer of an unexpected shape, met while reading ``what``, into `UnexpectedAnswer`."""
    try:
        yield
    except SHAPE_ERRORS as exc:
        raise UnexpectedAnswer(what, exc) from None


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions an exception group holds, flattened (``[exc]`` for a plain one)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def account_failure(exc: Exception) -> SharingtoolsError | None:
    """The API error ``exc`` stands for when it is a per-account read failure, else None
    (a module refusal, or a bug: those propagate)."""
    found = leaves(exc)
    for leaf in found:
        if isinstance(leaf, (ModuleNotEnabled, ModuleNotInstalled)):
            raise leaf
    if all(isinstance(leaf, (SharingtoolsError, *SHAPE_ERRORS)) for leaf in found):
        first = found[0]
        return first if isinstance(first, SharingtoolsError) else UnexpectedAnswer("reading it", first)
    return None


async def read_per_account(handler: KindHandler, ctx: ReadContext, accounts: Sequence[Account],
                           desired: Mapping[int, Any], failures: list[AccountIssue]) -> ReadResult:
    """``handler.read`` of ``accounts``; on failure, each account alone (see the module docstring)."""
    try:
        return await handler.read(ctx, accounts, desired)
    except Exception as exc:
        error = account_failure(exc)
        if error is None:
            raise
        if len(accounts) == 1:
            failures.append(_problem(handler, accounts[0], error))
            return ReadResult()
    result = ReadResult()

    async def one(account: Account) -> None:
        try:
            alone = await handler.read(ctx, [account], {account.id: desired[account.id]})
        except Exception as exc:
            try:
                error = account_failure(exc)
            except (ModuleNotEnabled, ModuleNotInstalled) as refusal:  # inside a task group: stays this account's
                error = refusal
            if error is None:
                raise
            failures.append(_problem(handler, account, error))
            return
        result.live.update(alone.live)
        result.problems += alone.problems
        # The fingerprints of states a kind kept only part of, and a settings answer's names.
        result.fingerprints.update(alone.fingerprints)
        result.settings_fields = result.settings_fields or alone.settings_fields

    await each(accounts, one, workers=ctx.client.transport.workers)
    return result


def _problem(handler: KindHandler, account: Account, error: BaseException) -> AccountIssue:
    return AccountIssue(account.id, account.username, handler.kind, f"could not read {handler.label}: {error}")
