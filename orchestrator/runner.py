"""Running an apply for the command line: the client, the history, the confirmation prompt,
the progress bar, Ctrl-C, the summary table and the report file."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import structlog
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchestrator.api import SharingtoolsClient
from orchestrator.engine.apply import EXIT_ERROR, ApplyError, ApplyOptions, ApplyOutcome, apply, operations_of
from orchestrator.engine.executor import Executor
from orchestrator.history import History
from orchestrator.kinds import Operation
from orchestrator.lock import LockHeld, RunLock
from orchestrator.plan import Plan, blocked_text, render_text
from orchestrator.playbook import Playbook
from orchestrator.settings import Settings

log = structlog.get_logger("orchestrator.apply")


async def run_apply(settings: Settings, book: Playbook, options: ApplyOptions, *, yes: bool,
                    report_path: str | None = None, console: Console | None = None) -> int:
    console = console or Console(stderr=False, highlight=False, soft_wrap=True)
    # One apply or reconcile cycle at a time: held for the whole run, plan included, so two
    # applies cannot both create what is missing.
    lock = RunLock(settings.state_db, settings.base_url, "apply")
    try:
        lock.acquire()
    except LockHeld as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        return await _run_apply(settings, book, options, yes=yes, report_path=report_path, console=console)
    finally:
        lock.release()


async def _run_apply(settings: Settings, book: Playbook, options: ApplyOptions, *, yes: bool,
                     report_path: str | None, console: Console) -> int:
    history = History(settings.state_db)
    tty = console.is_terminal
    async with SharingtoolsClient.from_settings(settings) as client:
        progress = Progress(TextColumn("[bold]apply"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[failed]} failed · {task.fields[rate]:.1f} req/s"),
                            TimeElapsedColumn(), console=console, disable=not tty, transient=True)
        task = progress.add_task("apply", total=0, failed=0, rate=0.0)

        def on_progress(event: str, op: Operation) -> None:
            fields: dict[str, Any] = {"rate": client.transport.limiter.current_rate}
            if event == "failed":
                fields["failed"] = progress.tasks[0].fields["failed"] + 1
            progress.update(task, advance=1, **fields)
            if not tty:
                log.info("operation", kind=op.kind, operation=op.name, account_id=op.account_id, result=event)

        async def confirm(plan: Plan) -> bool:
            console.print(render_text(plan, colour=tty) if tty else render_text(plan), markup=tty)
            progress.update(task, total=len(operations_of(plan.changes, executor.kinds)))
            if yes:
                return True
            answer = await anyio.to_thread.run_sync(
                lambda: console.input("\nApply these changes? Only 'yes' is accepted: "))
            return answer.strip() == "yes"

        executor = Executor(client, progress=on_progress)
        outcome: ApplyOutcome | None = None

        async def watch_interrupt(scope: anyio.CancelScope) -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    if executor.stop.is_set():
                        continue
                    console.print("\n[yellow]stopping: in-flight calls finish, nothing new starts[/]")
                    executor.stop.set()

        failure: Exception | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch_interrupt, tg.cancel_scope)
                try:
                    with progress:
                        outcome = await apply(client, book, options, history=history, executor=executor,
                                              confirm=confirm)
                except Exception as exc:  # re-raised below as itself, not wrapped in an ExceptionGroup
                    failure = exc
                tg.cancel_scope.cancel()
            if failure is not None:
                raise failure
        except ApplyError as exc:
            for line in exc.lines:
                print(line, file=sys.stderr)
            return EXIT_ERROR
        finally:
            history.close()
        assert outcome is not None
        report = outcome.report(client)
        _summarise(console, outcome, report)
        if report_path:
            Path(report_path).write_text(json.dumps(report, indent=2, default=str) + "\n")
        return outcome.exit_code


def _summarise(console: Console, outcome: ApplyOutcome, report: dict[str, Any]) -> None:
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
        console.print(f"{report['requests_total']} requests ({report['bulk_calls']} bulk), {report['retries']} retries, "
                      f"{report['duration_seconds']} s.")
    for failure in outcome.execution.failures:
        console.print(f"[red]failed[/] {failure.username} · {failure.kind} {failure.operation}: {failure.reason}",
                      highlight=False)
    for change in outcome.unverified:
        console.print(f"[yellow]not verified[/] {change.username} · {change.kind} {change.path}", highlight=False)
    if outcome.plan.blocked and outcome.plan.empty:  # else the plan shown before the run listed them
        console.print(blocked_text(outcome.plan), markup=False, highlight=False)
    elif outcome.plan.blocked:
        names = sorted({b.username for b in outcome.plan.blocked})
        console.print(f"[yellow]blocked[/] {len(outcome.plan.blocked)} changes not attempted, on "
                      + ", ".join(names), highlight=False)
    colour = "green" if outcome.exit_code == 0 else "red"
    console.print(f"[{colour}]{outcome.message}[/]", highlight=False)
