"""The command line's one error boundary: every failure ends in one line, or in a crash file.

Every command runs inside `guarded`. What a user can cause or fix (bad input, a file that
cannot be read or written, a state database that is not one, an unreachable server, retries
run out, a bad ``--policy``) ends in one ``error: ...`` line on stderr saying what to do, with
the exit code the README gives. Anything else is a bug: the user sees one short line naming a
file where the whole traceback was written, with every secret masked, never 100 lines.

Exception groups (anyio task groups raise them) are unwrapped: the first failure that is not
a cancellation decides the message, so a failed read among many never surfaces as a group.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer

from orchestrator import log
from orchestrator.contract.vocabulary import ExitCode

EXIT_ERROR, EXIT_INTERRUPTED = ExitCode.ERROR, ExitCode.INTERRUPTED
F = TypeVar("F", bound=Callable[..., Any])
#: Exits the commands chose, and the usage errors of Typer's own Click (which it prints itself).
#: Typer carries its own copy of Click; Click itself is not imported for this (it would cost
#: the start-up a few hundredths of a second): a program that has imported it gets its
#: exceptions passed through as well (`pass_through`).
PASS_THROUGH: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort, typer.TyperException, SystemExit)


def pass_through() -> tuple[type[BaseException], ...]:
    """`PASS_THROUGH`, with Click's exits and usage errors where Click is imported (nothing
    raises them where it is not)."""
    click = sys.modules.get("click")
    if click is None:
        return PASS_THROUGH
    return (*PASS_THROUGH, click.exceptions.Exit, click.exceptions.Abort, click.ClickException)


def _exits() -> tuple[type[Any], ...]:
    """The exceptions that carry an exit code: Typer's, and Click's where Click is imported."""
    click = sys.modules.get("click")
    return (typer.Exit,) if click is None else (typer.Exit, click.exceptions.Exit)


class UserError(Exception):
    """An expected failure: ``message`` is the whole line (without ``error:``), ``code`` the exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def guarded(fn: F) -> F:
    """``fn`` with the error boundary around it (for Typer commands: the signature is kept)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except pass_through():
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BaseException as exc:  # noqa: BLE001 - this is the boundary
            handle(exc)

    return wrapper  # type: ignore[return-value]


def handle(exc: BaseException) -> NoReturn:
    """Print what ``exc`` means for the user and exit with its code."""
    exc = first_failure(exc)
    if isinstance(exc, pass_through()):
        raise exc
    if isinstance(exc, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if isinstance(exc, BrokenPipeError):
        _drop_stdout()
    lines, code = explain(exc)
    if lines is None:
        lines, code = [crash_line(exc)], EXIT_ERROR
    for line in lines:
        typer.echo(log.redact_text(line), err=True)
    raise typer.Exit(code)


def _drop_stdout() -> None:
    """Point standard output at /dev/null: what is still buffered for a closed pipe would
    otherwise fail again at exit, with a second, raw message (the recipe of Python's
    ``signal`` documentation)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def first_failure(exc: BaseException) -> BaseException:
    """The failure an exception group stands for: its first leaf that is not a cancellation."""
    from orchestrator.api.errors import leaves

    if not isinstance(exc, BaseExceptionGroup):
        return exc
    found = leaves(exc)
    return next((leaf for leaf in found if not _is_cancellation(leaf)), found[0])


def _is_cancellation(exc: BaseException) -> bool:
    # asyncio's class (anyio's backend here), asked without a running loop: this runs after it.
    import asyncio

    return isinstance(exc, asyncio.CancelledError)


def explain(exc: BaseException) -> tuple[list[str] | None, int]:
    """The lines and the exit code for an expected failure; (None, 1) for a bug."""
    from orchestrator.api.errors import SharingtoolsError
    from orchestrator.playbook import PlaybookError
    from orchestrator.apply.policy import PolicyError

    from orchestrator.state.store import StateStoreError

    if isinstance(exc, (UserError, StateStoreError)):
        return [f"error: {exc}"], getattr(exc, "code", EXIT_ERROR)
    if isinstance(exc, PlaybookError):
        return [str(d) for d in exc.diagnostics], EXIT_ERROR
    if isinstance(exc, SharingtoolsError):
        return [f"error: {explain_api(exc, os.environ.get('SHARINGTOOLS_BASE_URL'))}"], EXIT_ERROR
    if isinstance(exc, PolicyError):
        return [f"error: {exc}"], EXIT_ERROR
    # Asked of sqlite3 only where it is imported: nothing else raises its errors.
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        return [f"error: the state database cannot be used ({exc}): point --state-db or SHARINGTOOLS_STATE_DB "
                "at a writable SQLite file"], EXIT_ERROR
    if isinstance(exc, UnicodeDecodeError):
        return [f"error: a file is not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8"], EXIT_ERROR
    if isinstance(exc, OSError):
        return [f"error: {describe_os_error(exc)}"], EXIT_ERROR
    if isinstance(exc, MemoryError):
        return ["error: out of memory: give fewer or smaller playbooks, or use --limit"], EXIT_ERROR
    return None, EXIT_ERROR


def describe_os_error(exc: OSError) -> str:
    """``path: reason: what to do`` for a file-system or network error."""
    what = exc.strerror or type(exc).__name__
    where = f"{exc.filename}: " if exc.filename is not None else ""
    if isinstance(exc, PermissionError):
        return f"{where}{what}: check the permissions, or choose another path"
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return f"{where}{what}: check the path (its directory must exist)"
    if isinstance(exc, IsADirectoryError):
        return f"{where}{what}: give a file, not a directory"
    if isinstance(exc, BrokenPipeError) and exc.filename is None:
        return "the output was closed before all of it was written (the reader of a pipe stopped early)"
    if isinstance(exc, ConnectionError):
        return f"{where}{what}: is the server running and SHARINGTOOLS_BASE_URL right?"
    return f"{where}{what}"


def crash_line(exc: BaseException) -> str:
    """Write the redacted traceback of a bug to a file; the one line that says where."""
    text = log.redact_text("".join(traceback.format_exception(exc)))
    try:
        path = crash_file()
        path.write_text(text, encoding="utf-8")
        where = f"the full traceback is in {path}"
    except OSError:
        where = "the traceback could not be written to a file"
    return (f"error: unexpected {type(exc).__name__} (a bug in the orchestrator): {where}; "
            "please report it with that file")


def crash_file() -> Path:
    """A new file, readable by its owner only, under ``SHARINGTOOLS_CRASH_DIR`` or the temp directory."""
    directory = Path(os.environ.get("SHARINGTOOLS_CRASH_DIR") or tempfile.gettempdir())
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    fd, name = tempfile.mkstemp(prefix=f"orchestrator-crash-{stamp}-", suffix=".txt", dir=directory)
    os.close(fd)  # mkstemp makes it 0600
    return Path(name)


def check_writable(path: str, what: str) -> None:
    """Refuse at once, before any work, an output path that cannot be written."""
    target = Path(path)
    if target.is_dir():
        raise UserError(f"{what} {path} is a directory: give a file name")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"cannot write {what} {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UserError(f"cannot write {what} {path}: permission denied; choose another path")


class GuardedTyper(typer.Typer):
    """A Typer app whose every command runs inside `guarded` (so commands others add are too)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(fn: F) -> F:
            register(guarded(fn))
            return fn

        return decorator

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().callback(*args, **kwargs)

        def decorator(fn: F) -> F:
            register(guarded(fn))
            return fn

        return decorator


def main_boundary(app: Callable[[], Any]) -> None:
    """Run the whole app (``cli.main``): the last resort for what escapes a command."""
    try:
        app()
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - this is the boundary
        try:
            handle(exc)
        except _exits() as done:
            sys.exit(done.exit_code)


def explain_api(exc: BaseException, base_url: str | None = None) -> str:
    """One line for an API error a user can cause, with what to do about it."""
    from orchestrator.api.errors import (
        ClientConfigError,
        InvalidApiKey,
        ModuleNotEnabled,
        ModuleNotInstalled,
        ResponseError,
        TransportError,
        Unauthorized,
    )

    if isinstance(exc, ClientConfigError):
        return str(exc)
    if isinstance(exc, TransportError):
        where = base_url or "the server"
        return f"cannot reach {where} ({exc.message}): is the server running and SHARINGTOOLS_BASE_URL right?"
    if isinstance(exc, InvalidApiKey):
        return "the server rejected the API key (Invalid API key): check SHARINGTOOLS_API_KEY; it may be revoked"
    if isinstance(exc, Unauthorized):
        return "the server found no usable API key (Unauthorized): set SHARINGTOOLS_API_KEY"
    if isinstance(exc, ModuleNotEnabled):
        return f"{exc.method} {exc.path}: your plan does not include this module (403 Module not enabled)"
    if isinstance(exc, ModuleNotInstalled):
        return f"{exc.method} {exc.path}: the module is not installed on this server (503)"
    if isinstance(exc, ResponseError):
        return str(exc) + _base_url_hint(exc, base_url)
    return str(exc)


def _base_url_hint(exc: Any, base_url: str | None) -> str:
    """A 404 "Endpoint not found" from a base URL without ``/api/v1`` is a wrong base URL."""
    if exc.status != 404 or "endpoint not found" not in exc.message.lower() or base_url is None:
        return ""
    if base_url.rstrip("/").endswith("/api/v1"):
        return ""
    return f": the base URL {base_url} lacks /api/v1; try {base_url.rstrip('/')}/api/v1 (SHARINGTOOLS_BASE_URL)"
