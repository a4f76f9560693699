"""The command line. Thin: parse, call, print, exit code.

Every error a user can cause ends in one line on stderr saying what to do, and exit 1;
tracebacks are for bugs only (and even then pass through the redaction of secrets).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import typer

from orchestrator import log
from orchestrator.cli import examples as cli_examples
from orchestrator.api.errors import ClientConfigError, SharingtoolsError
from orchestrator.cli.errors import GuardedTyper, check_writable, main_boundary
from orchestrator.cli.errors import explain_api as explain
from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import ExitCode

app = GuardedTyper(
    name="orchestrator",
    help="Sharingtools campaign configuration as code, and a local emulator of the API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    epilog=cli_examples.MAIN,
)
emulator_app = GuardedTyper(help="The local Sharingtools API emulator.", no_args_is_help=True,
                            epilog=cli_examples.EMULATOR_SERVE)
app.add_typer(emulator_app, name="emulator")

T = TypeVar("T")

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_BLOCKED, EXIT_PARTIAL, EXIT_INTERRUPTED = (
    ExitCode.OK, ExitCode.ERROR, ExitCode.CHANGES, ExitCode.BLOCKED, ExitCode.PARTIAL, ExitCode.INTERRUPTED)

STATE_DB_HELP = "the state store: a SQLite file or a postgresql:// URL (default: SHARINGTOOLS_STATE_DB)"
CONCURRENCY_HELP = "requests in flight at once (default: 16, or SHARINGTOOLS_CONCURRENCY)"
RATE_HELP = ("requests per second at most; the client backs off on 429 and finds the server's limit "
             "(default: 100, or SHARINGTOOLS_RATE)")


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    typer.echo(f"error: {log.redact_text(message)}", err=True)
    raise typer.Exit(code)


def loop_options() -> dict[str, bool]:
    """anyio's backend options: uvloop where it is installed (it comes with uvicorn's standard
    extra): measured on a 2,000-account plan through the benchmark's proxy at 300 requests per
    second, 8% less client CPU than asyncio's own loop (3.4 -> 3.1 s), the same requests and
    the same wall time. Asked when a command runs, not at import."""
    import importlib.util

    return {"use_uvloop": importlib.util.find_spec("uvloop") is not None}


def run_async(fn: Callable[[], Awaitable[T]], base_url: str | None = None, *, reading: bool = True) -> T:
    """Run ``fn``; ``reading``: SIGINT/SIGTERM cancel it at once (exit 130/143). A command that
    writes (apply) passes False and handles signals itself (see orchestrator.apply.interrupts)."""
    import anyio

    from orchestrator.apply.interrupts import exit_code, run_reading

    try:
        if not reading:
            return anyio.run(fn, backend_options=loop_options())
        result, signum = anyio.run(run_reading, fn, backend_options=loop_options())
    except SharingtoolsError as exc:
        fail(explain(exc, base_url))
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if signum is not None:
        typer.echo("interrupted: nothing was changed", err=True)
        raise typer.Exit(exit_code(signum))
    return result  # type: ignore[return-value]


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"orchestrator {version('sharingtools-orchestrator')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("orchestrator (not installed: version unknown)")
        raise typer.Exit()


@app.callback()
def main_options(
    log_level: log.LogLevel = typer.Option(log.LogLevel.WARNING, case_sensitive=False,
                                           help="debug, info, warning or error"),
    log_format: log.LogFormat = typer.Option(log.LogFormat.AUTO, case_sensitive=False,
                                             help="auto (console on a terminal, else JSON), console, json"),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    log.configure(str(log_level), str(log_format))


# -- emulator -------------------------------------------------------------------------
@emulator_app.command("serve", epilog=cli_examples.EMULATOR_SERVE)
def emulator_serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (loopback by default)"),
    port: int = typer.Option(8765),
    db: str = typer.Option(None, help="SQLite file that keeps the world across restarts (default: in memory)"),
    seed: str = typer.Option(None, help="'demo', 'accounts=N', or both comma-separated (only on an empty database)"),
    keys_file: str = typer.Option(None, help="write the seeded users' API keys here as JSON (mode 600)"),
    frozen_clock: bool = typer.Option(False, help="time moves only through /_emulator/clock/advance"),
    max_body_bytes: int = typer.Option(1024 * 1024, min=0, help="larger request bodies are answered 413"),
    max_upload_bytes: int = typer.Option(512 * 1024 * 1024, min=0, help="the same for file uploads (multipart)"),
) -> None:
    """Serve the emulated Sharingtools API (docs at /_emulator/docs, spec at /openapi.json)."""
    from orchestrator.emulator.server import serve

    try:
        serve(host, port, db=db, seed=seed, keys_file=keys_file, real_clock=not frozen_clock,
              max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes)
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")


# -- api -------------------------------------------------------------------------------
@app.command("api", epilog=cli_examples.API)
def api_call(
    method: str = typer.Argument(..., help="GET, POST, PATCH or DELETE"),
    path: str = typer.Argument(..., help="path under /api/v1, e.g. reactions/schedules/42/settings"),
    data: str = typer.Option(None, "--data", "-d", help="JSON body"),
    param: list[str] = typer.Option([], "--param", "-p", help="query parameter key=value (repeatable)"),
    paginate: bool = typer.Option(False, help="follow pages (or cursors) and print every item as a JSON array"),
    base_url: str = typer.Option(None, envvar="SHARINGTOOLS_BASE_URL", help="the installation's /api/v1 URL"),
    concurrency: int = typer.Option(None, help=CONCURRENCY_HELP),
    rate: float = typer.Option(None, help=RATE_HELP),
) -> None:
    """An authenticated call to any endpoint, printing the answer's data as JSON (like `gh api`)."""
    from orchestrator.api import SharingtoolsClient
    from orchestrator.api.pagination import cursor_items, items
    from orchestrator.api.settings import load_settings

    method = method.upper()
    if method not in ("GET", "POST", "PATCH", "DELETE", "PUT"):
        fail(f"unknown method {method!r}: use GET, POST, PATCH or DELETE")
    body: Any = None
    if data is not None:
        try:
            body = json.loads(data)
        except json.JSONDecodeError as exc:
            fail(f"--data is not valid JSON ({exc.msg} at column {exc.colno})")
    params: dict[str, str] = {}
    for p in param:
        key, sep, value = p.partition("=")
        if not sep:
            fail(f"--param {p!r} must be key=value")
        params[key] = value
    if paginate and method != "GET":
        fail("--paginate works with GET only")
    try:
        settings = load_settings(base_url=base_url, **_given(concurrency=concurrency, rate=rate))
    except ClientConfigError as exc:
        fail(str(exc))

    async def call() -> Any:
        async with SharingtoolsClient.from_settings(settings) as client:
            if not paginate:
                return await client.raw(method, path, params=params, json=body)
            first = await client.raw("GET", path, params=params)
            key = next((k for k in ("threads", "messages") if isinstance(first, dict) and k in first), None)
            if key is not None:
                return [i async for i in cursor_items(client.transport, path, key, params)]
            return [i async for i in items(client.transport, path, params)]

    result = run_async(call, settings.base_url)
    # Masked like every other output: credentials in proxies, values under secret-named keys.
    typer.echo(json.dumps(log.redact_value(result), indent=2, ensure_ascii=False))


# -- validate and plan -------------------------------------------------------------------
PLAYBOOKS = typer.Argument(..., help="playbook files or directories (all *.yaml in them, by name)")
BASE_URL = typer.Option(None, envvar="SHARINGTOOLS_BASE_URL", help="the installation's /api/v1 URL")


# -- fleet: sharding (the import command is further down) --------------------------------
SHARD = typer.Option(None, "--shard", envvar="SHARINGTOOLS_SHARD",
                     help="only shard K of N, e.g. 0/4 (accounts split by a stable hash of their id; "
                          "shard 0 also manages the caption library)")


def parse_shard(text: str | None) -> Any:
    """The `Shard` of ``--shard K/N`` (or $SHARINGTOOLS_SHARD), None without one, or one line and exit 1."""
    from orchestrator.planning.shard import Shard, ShardError

    if not text:
        return None
    try:
        return Shard.parse(text)
    except ShardError as exc:
        fail(str(exc))


def load_playbook(paths: list[str]) -> Any:
    """The playbook, or every diagnostic on stderr (one line each) and exit 1."""
    from orchestrator import playbook

    try:
        return playbook.load(paths)
    except playbook.PlaybookError as exc:
        for diagnostic in exc.diagnostics:
            typer.echo(str(diagnostic), err=True)
        raise typer.Exit(EXIT_ERROR) from None


@app.command("validate", epilog=cli_examples.VALIDATE)
def validate(paths: list[str] = PLAYBOOKS) -> None:
    """Check playbooks without touching the API: each problem as file:line:col: message."""
    from orchestrator import playbook

    problems = playbook.validate(paths)
    for problem in problems:
        typer.echo(str(problem), err=True)
    if problems:
        raise typer.Exit(EXIT_ERROR)
    typer.echo(f"valid: {', '.join(paths)}")


def client_settings(base_url: str | None, **overrides: Any) -> Any:
    from orchestrator.api.settings import load_settings

    try:
        settings = load_settings(base_url=base_url, **overrides)
        settings.resolved_key()
        settings.check_transport_security()
    except ClientConfigError as exc:
        fail(str(exc))
    return settings


def report_blockers(planned: Any) -> None:
    """Errors in the playbook (one line each on stderr, then exit 1), and per-account problems
    (one line each on stderr, with what to do: the other accounts are planned)."""
    for diagnostic in planned.diagnostics:
        typer.echo(str(diagnostic), err=True)
    if planned.diagnostics:
        raise typer.Exit(EXIT_ERROR)
    for problem in planned.problems:
        typer.echo(f"problem: {log.redact_text(str(problem))}", err=True)


def _given(**values: Any) -> dict[str, Any]:
    """The options given on the command line (None: the settings' default applies)."""
    return {k: v for k, v in values.items() if v is not None}


@app.command("plan", epilog=cli_examples.PLAN)
def plan_command(
    paths: list[str] = PLAYBOOKS,
    format: str = typer.Option("text", "--format", "-f", help="text, markdown or json"),
    out: str = typer.Option(None, "--out", "-o", help="save the plan (JSON) for `apply --plan`"),
    limit: list[str] = typer.Option([], "--limit", "-l", help="only these groups or usernames (repeatable)"),
    detail: bool = typer.Option(False, "--detail", help="text: list every account under each change"),
    strict: bool = typer.Option(False, "--strict", help="exit 1 when any account has a problem (for CI)"),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode", help="exit 2 when there are changes"),
    concurrency: int = typer.Option(None, help=CONCURRENCY_HELP),
    rate: float = typer.Option(None, help=RATE_HELP),
    state_db: str = typer.Option(None, "--state-db", help="history database: drift, accounts seen (read only)"),
    at: str = typer.Option(None, "--at", help="desired state at this instant (entry windows), live as now: "
                           "ISO 8601 such as 2026-11-28T10:00Z (no offset: UTC)"),
    marker: str = typer.Option(None, "--marker", help="markdown: begin with the hidden line <!-- MARKER -->, by "
                               "which a CI bot finds its comment again and edits it"),
    max_chars: int = typer.Option(None, "--max-chars", help="markdown: at most this many characters (default "
                                  "60,000; a comment holds 65,536): the summary stays, rows and account lists are "
                                  "cut, and a note says what was left out and where the complete plan is"),
    full_plan: str = typer.Option(None, "--full-plan", help="markdown: where the complete plan is, named when the "
                                  "Markdown is cut: a URL or a Markdown link (default: the command that writes it)"),
    summary_only: bool = typer.Option(False, "--summary-only", help="markdown: only the summary and the table of "
                                      "changes by kind and action"),
    full_markdown: str = typer.Option(None, "--full-markdown", help="markdown: also write the plan, cut only to "
                                      "fit a GitHub job summary (1 MiB), to this file, from the same read"),
    shard: str = SHARD,
    base_url: str = BASE_URL,
) -> None:
    """Show what apply would change: read the live state of what the playbooks manage, and diff.

    Identical changes are grouped across accounts; a problem with one account (gone, no
    schedule) is reported on stderr and the other accounts are planned."""
    import time

    from orchestrator import playbook
    from orchestrator.apply.doubt import settle
    from orchestrator.planning.planner import Planner
    from orchestrator.render import Legend, render_text, write_json
    from orchestrator.render.pr_comment import MarkdownOptions, render_comment, render_full
    from orchestrator.kinds import KindRegistry, ProcessMemory
    from orchestrator.state.db import open_readonly

    if format not in ("text", "markdown", "json"):
        fail(f"unknown format {format!r}: use text, markdown or json")
    instant = parse_instant(at) if at else None
    markdown = MarkdownOptions(marker, max_chars, full_plan, summary_only, full_markdown)
    problem = markdown.check(format)
    if problem:
        fail(problem)
    if out:
        check_writable(out, "the plan")
    if full_markdown:
        check_writable(full_markdown, "the full Markdown")
    book = load_playbook(paths)
    in_shard = parse_shard(shard)
    settings = client_settings(base_url, **_given(concurrency=concurrency, rate=rate, state_db=state_db))

    async def run() -> Any:
        from orchestrator.api import SharingtoolsClient

        # Read only: a plan never creates or migrates the state database.
        store = await open_readonly(settings.state_db, settings.base_url, str(in_shard) if in_shard else None)
        try:
            # Which server objects the state store says apply made (read once; a plan never writes it).
            memory = ProcessMemory(*await store.remembered()) if store else ProcessMemory()
            kinds = KindRegistry.default().remembering(memory)
            async with SharingtoolsClient.from_settings(settings) as client:
                with reading_display(client):
                    planner = Planner(client, book, kinds, limit, in_shard,
                                      await store.known_usernames() if store else frozenset(), at=instant,
                                      claims=await store.window_claims() if store else frozenset())
                    planned = await planner.plan()
                    # What an earlier run sent and never heard back about: read back; a create
                    # that may still land is shown held (a plan records nothing).
                    doubts = await store.in_doubt() if store else []
                    if doubts:
                        planned = (await settle(planner, planned, doubts, time.time())).planned
            drift = await store.applied_drift(planned.plan.changes) if store else frozenset()
            return planned, drift
        finally:
            if store is not None:
                await store.close()

    try:
        planned, drift = run_async(run, settings.base_url)
    except playbook.PlaybookError as exc:
        for diagnostic in exc.diagnostics:
            typer.echo(str(diagnostic), err=True)
        raise typer.Exit(EXIT_ERROR) from None
    report_blockers(planned)
    plan = planned.plan
    if planned.read_failures:
        from orchestrator.apply.run import without_unread

        plan = without_unread(planned)
    legend = Legend.of(planned.desired, book, drift=drift,
                       problems=[log.redact_text(str(p)) for p in planned.problems])
    if format == "json":
        write_json(plan, sys.stdout)
        sys.stdout.write("\n")
    elif format == "markdown":
        typer.echo(render_comment(plan, legend, markdown))
        if full_markdown:
            write_text(full_markdown, render_full(plan, legend), "the full Markdown")
    else:
        from rich.console import Console

        console = Console(highlight=False, soft_wrap=True)
        if console.is_terminal:
            console.print(render_text(plan, colour=True, legend=legend, detail=detail))
        else:
            typer.echo(render_text(plan, legend=legend, detail=detail))
    if planned.read_failures:  # the plan above leaves these accounts out
        for problem in planned.read_failures:
            typer.echo(f"error: {problem}", err=True)
        fail(f"{len(planned.read_failures)} account reads failed: the plan is incomplete and was not saved; "
             "plan again when the server answers")
    if out:
        save_plan(plan, out)
    if strict and planned.problems:
        typer.echo(f"error: {len(planned.problems)} problems (--strict)", err=True)
        raise typer.Exit(EXIT_ERROR)
    if detailed_exitcode and not plan.empty:
        raise typer.Exit(EXIT_CHANGES)


def parse_instant(text: str) -> Any:
    """``--at``: an ISO 8601 instant (``2026-11-28T10:00Z``, ``2026-11-28T11:00+01:00``); without
    an offset it is UTC. Exit 1 with one line when it is not one."""
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--at {text!r} is not an ISO 8601 date-time: write it such as 2026-11-28T10:00Z")
    return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)).astimezone(UTC)


@contextmanager
def reading_display(client: Any) -> Iterator[None]:
    """While plan reads, a status line on stderr when stderr is a terminal (stdout may be a
    file or a pipe): a plan of 800 accounts takes seconds, and should not look frozen."""
    from rich.console import Console

    from orchestrator.apply.events import Phase
    from orchestrator.render.progress import RunDisplay

    console = Console(stderr=True)
    display = RunDisplay(console, client.transport, live=console.is_terminal)
    display.on_phase(Phase("reading"))
    display.start()
    try:
        yield
    finally:
        display.stop()


def write_text(path: str, text: str, what: str) -> None:
    from pathlib import Path

    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {what} to {path}: {exc.strerror}")


def save_plan(plan: Any, path: str) -> None:
    from pathlib import Path

    from orchestrator.render import write_json

    try:
        with Path(path).open("w", encoding="utf-8") as out:
            write_json(plan, out)
            out.write("\n")
    except OSError as exc:
        fail(f"cannot write the plan to {path}: {exc.strerror}")


@app.command("apply", epilog=cli_examples.APPLY)
def apply_command(
    paths: list[str] = PLAYBOOKS,
    plan_file: str = typer.Option(None, "--plan", help="apply exactly this saved plan (from plan --out)"),
    limit: list[str] = typer.Option([], "--limit", "-l", help="only these groups or usernames (repeatable)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="apply without asking (required when not on a terminal)"),
    concurrency: int = typer.Option(None, help=CONCURRENCY_HELP),
    rate: float = typer.Option(None, help=RATE_HELP),
    allow: list[str] = typer.Option([], "--allow", help="acknowledge a policy limit for one scope, e.g. pause:fashion"),
    policy: list[str] = typer.Option([], "--policy", help="override a policy limit, e.g. max_pauses=30%"),
    waves: str = typer.Option(None, help="cumulative wave sizes, e.g. 1,5,10%,100%"),
    max_fail: str = typer.Option(None, "--max-fail", help="halt when a wave's failures pass this (default 10%)"),
    resume: bool = typer.Option(False, "--resume", help="finish the last unfinished apply"),
    report: str = typer.Option(None, "--report", help="write the JSON run report here"),
    state_db: str = typer.Option(None, "--state-db", help=STATE_DB_HELP),
    shard: str = SHARD,
    base_url: str = BASE_URL,
) -> None:
    """Make the installation match the playbooks: plan, confirm, execute in waves, verify.

    Accounts with a problem (gone, no schedule) are left out and the others applied: the run
    then ends partial (exit 4)."""

    from orchestrator import playbook
    from orchestrator.apply.policy import PolicyError, parse_flags, parse_limit, parse_waves

    if report:
        check_writable(report, "the report")
    try:  # flags a user can get wrong: one line, before any request or progress line
        parse_flags(policy, allow)
    except PolicyError as exc:
        fail(str(exc))
    book = load_playbook(paths)
    settings = client_settings(base_url, concurrency=concurrency, rate=rate, state_db=state_db)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not yes and not interactive:
        fail("not on a terminal: pass --yes to apply without confirmation")
    saved = None
    if plan_file:
        from orchestrator.apply.saved_plan import SavedPlanError, load_saved_plan

        try:
            saved = load_saved_plan(plan_file)
        except SavedPlanError as exc:
            fail(str(exc))
    try:
        from orchestrator.apply.run import ApplyOptions

        options = ApplyOptions(
            limit=limit, allow=allow, policy=policy, saved_plan=saved, resume=resume, shard=parse_shard(shard),
            waves=parse_waves(waves) if waves else None,
            max_fail=parse_limit(max_fail, "--max-fail") if max_fail else None,
        )
    except PolicyError as exc:
        fail(str(exc))
    from orchestrator.cli.apply import run_apply

    try:
        code = run_async(lambda: run_apply(settings, book, options, yes=yes, report_path=report), settings.base_url,
                         reading=False)
    except playbook.PlaybookError as exc:
        for diagnostic in exc.diagnostics:
            typer.echo(str(diagnostic), err=True)
        raise typer.Exit(EXIT_ERROR) from None
    raise typer.Exit(code)


history_app = GuardedTyper(help="The runs recorded in the state store.", invoke_without_command=True,
                           epilog=cli_examples.HISTORY)
app.add_typer(history_app, name="history")


@history_app.callback()
def history_command(
    ctx: typer.Context,
    limit: int = typer.Option(10, help="how many runs"),
    every_installation: bool = typer.Option(False, "--all-installations",
                                            help="the runs of every installation in the store"),
    state_db: str = typer.Option(None, "--state-db", help=STATE_DB_HELP),
    base_url: str = BASE_URL,
) -> None:
    """The last runs of this installation (SHARINGTOOLS_BASE_URL) recorded in the state store,
    newest first, every shard's: when, how long, who ran it (user@host), the shard, the playbook
    hash, the outcome, and which run resumed which; `history show RUN` for one."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = (state_db, base_url)
        return
    from orchestrator.render.history import run_line
    from orchestrator.state.drift import render_hot_spots

    async def read(store: Any) -> tuple[list[Any], str]:
        runs = await store.runs(limit, every_installation=every_installation)
        return runs, render_hot_spots(await store.hot_spots())

    runs, spots = with_store(state_db, base_url, read)
    for run in runs:
        typer.echo(run_line(run))
    if spots:  # after the run list: what keeps drifting, and where
        typer.echo("\n" + spots)


def state_settings(state_db: str | None, base_url: str | None) -> Any:
    """The settings that name the state store and the installation (no key needed)."""
    from orchestrator.api.settings import load_settings

    try:
        return load_settings(**_given(state_db=state_db, base_url=base_url))
    except ClientConfigError as exc:
        fail(str(exc))


def with_store(state_db: str | None, base_url: str | None, fn: Callable[[Any], Awaitable[T]]) -> T:
    """``fn(store)`` on the state store of these settings, opened and closed around it."""
    from orchestrator.state.db import open_state

    settings = state_settings(state_db, base_url)

    async def run() -> T:
        store = await open_state(settings)
        try:
            return await fn(store)
        finally:
            await store.close()

    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_async(run, settings.base_url)
    # Called from inside an event loop (a program embedding the CLI, a test's CliRunner): the
    # store's calls run on an event loop of their own, on a thread of their own.
    from concurrent.futures import ThreadPoolExecutor

    import anyio

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, run).result()


@history_app.command("show", epilog=cli_examples.HISTORY_SHOW)
def history_show(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., metavar="RUN", help="the run's number, as `history` lists it"),
    as_json: bool = typer.Option(False, "--json", help="the run, its report and its drift rows as JSON"),
    state_db: str = typer.Option(None, "--state-db", help=STATE_DB_HELP),
    base_url: str = BASE_URL,
) -> None:
    """One run: its report, and the drift a reconcile cycle found, by account, kind and field."""
    from orchestrator.state.drift import render_run

    given_db, given_url = ctx.obj or (None, None)

    async def read(store: Any) -> tuple[Any, list[Any]]:
        run = await store.run(run_id)
        return run, (await store.drift_of_run(run_id) if run is not None else [])

    run, rows = with_store(state_db or given_db, base_url or given_url, read)
    if run is None:
        fail(f"there is no run #{run_id} in the history: `orchestrator history` lists them")
    if as_json:
        typer.echo(json.dumps({"id": run.id, "command": run.command, "status": run.status, "started": run.started,
                               "finished": run.finished, "shard": run.shard, "accounts": run.accounts,
                               "report": run.report, "drift": [r.public() for r in rows]},
                              indent=2, ensure_ascii=False, default=str))
    else:
        typer.echo(render_run(run, rows))


@history_app.command("prune", epilog=cli_examples.HISTORY_PRUNE)
def history_prune(
    ctx: typer.Context,
    older_than: str = typer.Option(None, "--older-than", help="prune runs and drift states older than this, "
                                   "e.g. 30d, 12h (default: retention_days, 90d)"),
    keep: int = typer.Option(None, "--keep", min=1, help="keep at most this many runs (default: retention_runs)"),
    state_db: str = typer.Option(None, "--state-db", help=STATE_DB_HELP),
    base_url: str = BASE_URL,
) -> None:
    """Delete what the retention policy no longer keeps: runs (with their reports and journal)
    older than --older-than or beyond the newest --keep, and drift states last seen before
    --older-than. The newest run is always kept. Runs on its own every hour anyway."""
    from orchestrator.state.db import retention_of
    from orchestrator.state.store import RetentionPolicy

    given_db, given_url = ctx.obj or (None, None)
    settings = state_settings(state_db or given_db, base_url or given_url)
    policy = retention_of(settings)
    try:
        age = parse_duration(older_than, "--older-than") if older_than else policy.older_than
    except ValueError as exc:
        fail(str(exc))
    policy = RetentionPolicy(older_than=age, keep=keep or policy.keep)

    async def prune(store: Any) -> Any:
        return await store.prune(policy)

    typer.echo(str(with_store(state_db or given_db, base_url or given_url, prune)))


def parse_duration(text: str, option: str = "--every") -> float:
    """``30d``, ``15m``, ``90s``, ``1h``, ``1h30m`` or plain seconds."""
    import re

    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*"
                         r"(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or match is None or not any(match.groups()):
        such = "30d, 12h or 90m" if option == "--older-than" else "15m, 90s or 1h"
        raise ValueError(f"{option} {text!r}: use a duration such as {such}")
    d, h, m, sec = (float(g) if g else 0.0 for g in match.groups())
    seconds = d * 86400 + h * 3600 + m * 60 + sec
    if seconds <= 0:
        raise ValueError(f"{option} must be more than 0")
    return seconds


def parse_fraction(text: str) -> float:
    """``10%`` or ``0.1``: a fraction between 0 and 1."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"--jitter {text!r}: use a percentage such as 10%") from None
    if not 0 <= value <= 1:
        raise ValueError(f"--jitter {text!r}: between 0% and 100%")
    return value


@app.command("reconcile", epilog=cli_examples.RECONCILE)
def reconcile_command(
    paths: list[str] = PLAYBOOKS,
    every: str = typer.Option("15m", help="time between cycles, e.g. 15m, 90s, 1h"),
    jitter: str = typer.Option("10%", help="move each wait by up to this much either way"),
    once: bool = typer.Option(False, "--once", help="one cycle, then exit with its code (for cron and CronJobs)"),
    mode: str = typer.Option("fix", help="fix: apply and verify; report: record the drift, write nothing"),
    limit: list[str] = typer.Option([], "--limit", "-l", help="only these groups or usernames (repeatable)"),
    allow: list[str] = typer.Option([], "--allow", help="acknowledge a policy limit for one scope, e.g. pause:fashion"),
    policy: list[str] = typer.Option([], "--policy", help="override a policy limit, e.g. max_pauses=30%"),
    concurrency: int = typer.Option(None, help=CONCURRENCY_HELP),
    rate: float = typer.Option(None, help=RATE_HELP),
    metrics_port: int = typer.Option(None, "--metrics-port",
                                     help="serve /metrics, /healthz and the status page (at /) on this port"),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", help="address for --metrics-port (0.0.0.0 in a pod)"
    ),
    metrics_file: str = typer.Option(
        None, "--metrics-file", help="write the metrics here (textfile collector) after each cycle"
    ),
    state_db: str = typer.Option(None, "--state-db", help=STATE_DB_HELP),
    shard: str = SHARD,
    base_url: str = BASE_URL,
) -> None:
    """Make the installation match the playbooks on a schedule, and record what drifted."""
    from orchestrator import playbook

    from orchestrator.apply.policy import PolicyError, parse_flags

    if mode not in ("fix", "report"):
        fail(f"unknown mode {mode!r}: use fix or report")
    try:
        every_s, jitter_f = parse_duration(every), parse_fraction(jitter)
        parse_flags(policy, allow)  # before any request: one line, not a failed cycle per cycle
    except (ValueError, PolicyError) as exc:
        fail(str(exc))
    book = load_playbook(paths)
    settings = client_settings(base_url, concurrency=concurrency, rate=rate, state_db=state_db)
    from orchestrator.reconcile.loop import ReconcileError, ReconcileOptions, run_reconcile

    options = ReconcileOptions(mode=mode, limit=limit, allow=allow, policy=policy, every=every_s, jitter=jitter_f,
                               shard=parse_shard(shard))
    try:
        code = run_async(lambda: run_reconcile(settings, book, options, once=once, metrics_port=metrics_port,
                                               metrics_host=metrics_host, metrics_file=metrics_file),
                         settings.base_url, reading=False)  # the loop handles its signals (cycles write)
    except ReconcileError as exc:
        fail(str(exc))
    except playbook.PlaybookError as exc:
        for diagnostic in exc.diagnostics:
            typer.echo(str(diagnostic), err=True)
        raise typer.Exit(EXIT_ERROR) from None
    except OSError as exc:
        fail(f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc.strerror or exc}")
    raise typer.Exit(code)


# -- status page -------------------------------------------------------------------------
status_app = GuardedTyper(help="The status page: the fleet, its accounts, runs and drift (read-only).",
                          no_args_is_help=True, epilog=cli_examples.STATUS_SERVE)
app.add_typer(status_app, name="status")


@status_app.command("serve", epilog=cli_examples.STATUS_SERVE)
def status_serve(
    state_db: str = typer.Option(None, "--state-db", help=STATE_DB_HELP),
    base_url: str = typer.Option(None, "--base-url", envvar="SHARINGTOOLS_BASE_URL",
                                 help="the installation to show (default: the settings' base URL, else the only "
                                      "one the state database holds)"),
    host: str = typer.Option("127.0.0.1", help="address to listen on (loopback by default)"),
    port: int = typer.Option(9109, min=0, max=65535, help="port to listen on"),
) -> None:
    """Serve the status page from a state database, without running a loop (read-only, no login):
    what `reconcile --metrics-port` serves at /, less what only the running loop knows."""
    from orchestrator.state.store import StateStoreError, is_postgres_url
    from orchestrator.status.queries import StateDbMissing, StatusSource
    from orchestrator.status.serve import serve

    settings = state_settings(state_db, base_url)
    target = settings.state_db
    # The installation: named (flag, environment, settings file), else the one the database holds.
    named = base_url or (settings.base_url if "base_url" in settings.model_fields_set else None)
    if not is_postgres_url(target) and not os.path.isfile(target):
        fail(f"there is no state database at {target}: point --state-db at the one reconcile or apply writes")
    source = StatusSource(target, named)
    try:
        source.check()
    except StateDbMissing as exc:
        source.close()
        fail(f"the state database {exc}: point --state-db at the one reconcile or apply writes")
    except StateStoreError as exc:
        source.close()
        fail(str(exc))
    try:
        serve(source, host, port,
              ready=lambda url: typer.echo(f"status page of {source.where} at {url}/ (read-only; Ctrl-C stops it)",
                                           err=True))
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")
    finally:
        source.close()


# -- fleet: import -----------------------------------------------------------------------
@app.command("import")
def import_command(
    kinds: list[str] = typer.Option([], "--kinds", "-k", help="only these kinds, comma-separated or repeated: "
                                    + ", ".join(Kind)),
    limit: list[str] = typer.Option([], "--limit", "-l", help="only these usernames or patterns such as 'fashion_*' "
                                    "(repeatable; the caption library is then left out)"),
    out: str = typer.Option(None, "--out", "-o", help="write the playbook to this file (default: standard output)"),
    exact_proxies: bool = typer.Option(False, "--exact-proxies", help="write each account's proxy, not `proxy: auto`"),
    per_account: bool = typer.Option(False, "--per-account", help="one entry per account, sharing nothing (long)"),
    base_url: str = BASE_URL,
) -> None:
    """Write a playbook from what the installation runs today: its plan is empty."""
    from orchestrator.importer import ImportError_, ImportOptions, import_playbook, parse_kinds, plural

    settings = client_settings(base_url)
    try:
        options = ImportOptions(kinds=parse_kinds(kinds), limit=limit, exact_proxies=exact_proxies,
                                per_account=per_account, source=public_url(settings.base_url))
    except ImportError_ as exc:
        fail(str(exc))

    async def run() -> Any:
        from orchestrator.api import SharingtoolsClient

        async with SharingtoolsClient.from_settings(settings) as client:
            return await import_playbook(client, options)

    try:
        imported = run_async(run, settings.base_url)
    except ImportError_ as exc:
        fail(str(exc))
    for note in imported.notes:
        typer.echo(f"note: {note}", err=True)
    layout = imported.layout
    summary = (f"imported {plural(layout.accounts, 'account')} in {plural(layout.configurations, 'configuration')}: "
               f"{plural(len(layout.groups), 'group')}, {plural(len(layout.entries), 'entry', 'entries')}")
    if layout.secrets:
        summary += f"; set {', '.join(layout.secrets)} before plan or apply"
    if out:
        from pathlib import Path

        try:
            Path(out).write_text(imported.text, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write the playbook to {out}: {exc.strerror}")
        typer.echo(f"{summary} -> {out}", err=True)
    else:
        typer.echo(imported.text, nl=False)
        typer.echo(summary, err=True)


def public_url(url: str) -> str:
    """``url`` without credentials or query, fit to be written into a file."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


# -- demo ------------------------------------------------------------------------------
@app.command("demo", epilog=cli_examples.DEMO)
def demo() -> None:
    """Start the embedded emulator with its demo world and walk through what the orchestrator sees."""
    from orchestrator.cli.demo import run_demo

    raise typer.Exit(run_async(run_demo))


def main() -> None:
    main_boundary(app)  # every command is guarded too (GuardedTyper); this catches the rest


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
