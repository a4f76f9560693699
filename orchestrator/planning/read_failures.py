"""Reads that fail stay with their accounts.

A kind reads many accounts at once (a list paged once, details fetched concurrently). When
that read fails after the client's retries, one bad answer must not sink the whole fleet's
plan: the read is tried again account by account, and only the accounts whose own read still
fails are left out, each recorded as a `AccountIssue` in ``failures``; every other account is
planned as usual. Refusals that concern the module rather than an account (403 module not
enabled, 503 module missing) keep their meaning and propagate to the planner, and so does a
library's failed read (`LibraryReadFailed`: the run stops). A kind's list of every account
that fails (`FleetReadFailed`) is not retried account by account: each account of the kind
is a read failure, with the list's cause.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from orchestrator.api.errors import ModuleNotEnabled, ModuleNotInstalled, SharingtoolsError, leaves
from orchestrator.api.pagination import describe
from orchestrator.kinds import AccountIssue, FleetReadFailed, KindHandler, LibraryReadFailed, ReadContext, ReadResult
from orchestrator.contract import Account
from orchestrator.api.fanout import each


#: What reading an answer of an unexpected shape raises (a list where an object belongs, a
#: missing field, pydantic's ValidationError, which is a ValueError).
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError)


class MisshapenAnswer(SharingtoolsError):
    """The server answered, but not in the shape the API documents (or a broken proxy answered),
    and a kind tripped on it. The client checks the shapes it knows (`api.errors.UnexpectedAnswer`);
    this is the net under what a kind reads further."""

    def __init__(self, what: str, error: BaseException) -> None:
        # pydantic's own text quotes the input, which may hold a secret: only fields and reasons.
        detail = describe(error) if isinstance(error, ValidationError) else " ".join(str(error).split())[:160]
        super().__init__(f"{what}: the server's answer is not what the API documents ({type(error).__name__}: "
                         f"{detail}); check SHARINGTOOLS_BASE_URL points at a Sharingtools API")


@contextmanager
def understood(what: str) -> Iterator[None]:
    """Turn an answer of an unexpected shape, met while reading ``what``, into `MisshapenAnswer`."""
    try:
        yield
    except SHAPE_ERRORS as exc:
        raise MisshapenAnswer(what, exc) from None


def stopping(group: BaseExceptionGroup) -> SharingtoolsError | None:
    """The read that stops the whole run (`LibraryReadFailed`) among a task group's failures."""
    return next((leaf for leaf in leaves(group) if isinstance(leaf, LibraryReadFailed)), None)


def account_failure(exc: Exception) -> SharingtoolsError | None:
    """The API error ``exc`` stands for when it is a per-account read failure, else None
    (a module refusal, or a bug: those propagate)."""
    found = leaves(exc)
    for leaf in found:
        if isinstance(leaf, (ModuleNotEnabled, ModuleNotInstalled, LibraryReadFailed)):
            raise leaf
    if all(isinstance(leaf, (SharingtoolsError, *SHAPE_ERRORS)) for leaf in found):
        first = next((leaf for leaf in found if isinstance(leaf, FleetReadFailed)), found[0])
        return first if isinstance(first, SharingtoolsError) else MisshapenAnswer("reading it", first)
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
        if len(accounts) == 1 or isinstance(error, FleetReadFailed):
            failures.extend(_problem(handler, account, error) for account in accounts)
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
