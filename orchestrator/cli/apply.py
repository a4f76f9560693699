"""Running an apply for the command line: the client, the history, the confirmation prompt,
the progress display (`run_display`), Ctrl-C, the summary table and the report file."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from dataclasses import replace
from typing import Any

import anyio
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator.api import SharingtoolsClient
from orchestrator.render.blocked import render_text as blocked_text
from orchestrator.apply.run import EXIT_ERROR, EXIT_OK, ApplyError, ApplyOptions, ApplyOutcome, apply
from orchestrator.apply.events import Event, Events, OperationDone, OperationFailed
from orchestrator.apply.executor import Executor
from orchestrator.apply.fleet import fleet_member
from orchestrator.apply.interrupts import InterruptWatch, ask, exit_code
from orchestrator.state.store import Key, LockHeld, StateStore
from orchestrator.planning.planner import Planned
from orchestrator.playbook import Playbook
from orchestrator.render import Legend, render_text
from orchestrator.render.progress import RunDisplay
from orchestrator.api.settings import Settings
from orchestrator.state.db import open_state
from orchestrator.log import get_logger

log = get_logger("orchestrator.apply")


async def run_apply(settings: Settings, book: Playbook, options: ApplyOptions, *, yes: bool,
                    report_path: str | None = None, console: Console | None = None) -> int:
    console = console or Console(stderr=False, highlight=False, soft_wrap=True)
    # A state store that cannot be used: one line, before the lock and any request.
    history = await open_state(settings, options.shard)
    try:
        # One apply or reconcile cycle at a time: held for the whole run, plan included, so two
        # applies cannot both create what is missing.
        async with contextlib.AsyncExitStack() as stack:
            try:
                grant = await stack.enter_async_context(history.lock("apply"))
            except LockHeld as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_ERROR
            if grant.previous is not None:
                print(f"note: lock taken over from {grant.previous.describe()}, which died holding it",
                      file=sys.stderr)
            if options.resume and await history.unfinished() is None:  # before any request or progress line
                print("error: there is no unfinished apply to resume: run plan or apply", file=sys.stderr)
                return EXIT_ERROR
            return await _run_apply(settings, book, options, history, yes=yes, report_path=report_path,
                                    console=console)
    finally:
        await history.close()


async def _run_apply(settings: Settings, book: Playbook, options: ApplyOptions, history: StateStore, *, yes: bool,
                     report_path: str | None, console: Console) -> int:
    tty = console.is_terminal
    async with SharingtoolsClient.from_settings(settings) as client:
        errors = Console(stderr=True, highlight=False, soft_wrap=True)
        display = RunDisplay(console, client.transport, live=tty,
                             plain=lambda line: errors.print(line, markup=False, highlight=False))

        events = Events()
        events.subscribe(display.on_event)
        if not tty:  # off a terminal, every operation is a log line too
            events.subscribe(_log_operation)

        watch = InterruptWatch()

        async def confirm(planned: Planned) -> bool:
            # The display stops first: nothing may draw over the plan or the prompt.
            display.stop()
            try:
                show_plan(console, planned, book, settings, colour=tty,
                          drift=await history.applied_drift(planned.plan.changes))
                if not yes:
                    # Cancellable: a Ctrl-C at the prompt ends the run instead of waiting for Enter.
                    answer = await ask(lambda: console.input(PROMPT))
                    if answer.strip() != "yes":
                        return False
                watch.writing = True  # from here a signal lets in-flight calls finish (see interrupts.py)
                return True
            finally:
                display.start()

        executor = Executor(client, events=events)
        outcome: ApplyOutcome | None = None
        watch.on_stop = executor.stop.set

        def notice(text: str) -> None:
            console.print(f"\n[yellow]{text}[/]")

        failure: Exception | None = None
        try:
            async with fleet_member(history, client, settings, options.shard), anyio.create_task_group() as tg:
                tg.start_soon(watch.watch, tg, notice)
                if not tty:
                    tg.start_soon(_ticker, display)
                display.start()
                try:
                    outcome = await apply(client, book, options, history=history, executor=executor,
                                          confirm=confirm)
                except Exception as exc:  # re-raised below as itself, not wrapped in an ExceptionGroup
                    failure = exc
                finally:
                    display.stop()
                tg.cancel_scope.cancel()
            if failure is not None:
                raise failure
        except ApplyError as exc:
            for line in exc.lines:
                print(line, file=sys.stderr)
            return EXIT_ERROR
        if outcome is None:  # cancelled by a signal: while reading (nothing changed), or a second one
            what = ("nothing was changed" if not watch.writing else
                    "requests in flight were cancelled; the journal keeps what is known; run apply --resume")
            console.print(f"[yellow]interrupted: {what}[/]", highlight=False)
            return exit_code(watch.signal or signal.SIGINT)
        if watch.signal is not None and outcome.exit_code != EXIT_OK:
            # Stopped by the user: what did not finish is reported, and the exit code says why.
            outcome.exit_code = exit_code(watch.signal)
        assert outcome is not None
        report = outcome.report(client)
        _summarise(console, outcome, report, report_path)
        if report_path:
            await anyio.Path(report_path).write_text(json.dumps(report, indent=2, default=str) + "\n")
        return outcome.exit_code


def _summarise(console: Console, outcome: ApplyOutcome, report: dict[str, Any], report_path: str | None) -> None:
    for violation in outcome.violations:
        console.print(f"[red]blocked[/] {violation}", markup=True, highlight=False)
    if outcome.conflicts:
        console.print(f"[yellow]skipped {len(outcome.conflicts)} accounts whose live state changed since the plan:[/] "
                      + ", ".join(map(str, outcome.conflicts)))
    if report["operations"]:
        table = Table(title="Operations")
        for col in ("kind", "operation", "done", "failed"):
            table.add_column(col)
        for kind, ops in report["operations"].items():
            for name, counts in ops.items():
                table.add_row(kind, name, str(counts.get("done", 0)), str(counts.get("failed", 0)))
        console.print(table)
        console.print(
            f"{report['requests_total']} requests ({report['bulk_calls']} bulk), {report['retries']} retries, "
            f"{report['duration_seconds']} s."
        )
    lines = [f"[red]failed[/] {escape(f'{f.username} · {f.kind} {f.step}: {f.message}')}"
             for f in outcome.execution.failures]
    lines += [f"[yellow]not verified[/] {escape(f'{c.username} · {c.kind} {c.path}')}" for c in outcome.unverified]
    lines += [f"[yellow]problem[/] {escape(str(p))}" for p in outcome.problems]
    for line in lines[:SHOWN_FAILURES]:
        console.print(line, highlight=False)
    if len(lines) > SHOWN_FAILURES:
        more = len(lines) - SHOWN_FAILURES
        where = (f"the full list is in {report_path}" if report_path
                 else "run again with --report FILE for the full list (JSON)")
        console.print(f"… and {more} more: {where}", highlight=False)
    if outcome.plan.blocked and outcome.plan.empty:  # else the plan shown before the run listed them
        console.print(blocked_text(outcome.plan.blocked), markup=False, highlight=False)
    elif outcome.plan.blocked:
        names = sorted({b.username for b in outcome.plan.blocked})
        console.print(f"[yellow]blocked[/] {len(outcome.plan.blocked)} changes not attempted, on "
                      + ", ".join(names), highlight=False)
    colour = "green" if outcome.exit_code == 0 else "red"
    console.print(f"[{colour}]{escape(outcome.message)}[/]", highlight=False)


def _log_operation(event: Event) -> None:
    """One log line per operation done or failed (off a terminal, where nothing is drawn)."""
    if isinstance(event, OperationDone | OperationFailed):
        op = event.op
        log.info("operation", kind=op.kind, operation=op.name, account_id=op.account_id,
                 result="done" if isinstance(event, OperationDone) else "failed")


async def _ticker(display: RunDisplay, every: float = 10.0) -> None:
    """Off a terminal: a status line every ``every`` seconds, so a log shows the run is alive."""
    while True:
        await anyio.sleep(every)
        display.tick()


def show_plan(console: Console, planned: Planned, book: Playbook, settings: Settings, *, colour: bool,
              drift: frozenset[Key] = frozenset()) -> None:
    """The plan before the prompt: grouped changes (cut short for large plans, with where to
    see all of it), what is blocked and the problems (what waits on a person, never cut
    before the changes are), and the counts by kind and action."""
    plan = planned.plan
    legend = Legend.of(planned.desired, book, drift=drift)
    lines = render_text(replace(plan, blocked=()), colour=colour, legend=legend).splitlines()
    body, summary = lines[:-1], lines[-1]
    if len(body) > SHOWN_PLAN_LINES:
        cut = len(body) - SHOWN_PLAN_LINES
        body = body[:SHOWN_PLAN_LINES] + [
            "", f"… {cut} more lines. The full plan: orchestrator plan PLAYBOOKS --detail, "
                "or --format json --out plan.json"]
    console.print("\n".join(body), markup=colour, highlight=False)
    if plan.blocked:
        blocked = blocked_text(plan.blocked, colour=colour).splitlines()
        if len(blocked) > SHOWN_PLAN_LINES:
            blocked = blocked[:SHOWN_PLAN_LINES] + [f"… {len(blocked) - SHOWN_PLAN_LINES} more lines (see the plan)"]
        console.print("\n" + "\n".join(blocked), markup=colour, highlight=False)
    for problem in planned.problems[:SHOWN_FAILURES]:
        console.print(f"[yellow]problem[/] {escape(str(problem))}", highlight=False)
    if len(planned.problems) > SHOWN_FAILURES:
        console.print(f"… and {len(planned.problems) - SHOWN_FAILURES} more problems", highlight=False)
    table = Table(title="Changes by kind and action", title_justify="left")
    table.add_column("kind")
    table.add_column("action")
    table.add_column("changes", justify="right")
    for kind, actions in plan.summary()["by_kind"].items():
        for action, n in actions.items():
            table.add_row(kind, action, str(n))
    console.print(table)
    console.print(escape(summary), highlight=False)
    if planned.problems:
        console.print(f"{len({(p.account_id, p.username) for p in planned.problems})} accounts with a problem "
                      "are left out; the others are applied.", highlight=False)


SHOWN_FAILURES = 20
SHOWN_PLAN_LINES = 60
# Terraform's wording: people know it, and only the exact word approves.
PROMPT = ("\nDo you want to perform these actions?\n"
          "  orchestrator will perform the actions described above.\n"
          "  Only 'yes' will be accepted to approve.\n\n"
          "  Enter a value: ")
