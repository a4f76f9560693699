"""``orchestrator demo``: the whole loop on the embedded emulator, for a first look.

It starts the emulator with its demo world on a free loopback port (uvicorn on a background
thread), on its live clock with the engine running every second, as a real installation's
cron would; then runs what a user would: validate the example playbooks in ``playbooks/``,
plan, apply (with ``--yes``), and plan again to show that nothing is left to do. Three demo
accounts need a new Instagram login: the server switches their schedules off, so the plans
show those activations as blocked instead of retrying them. The client talks real HTTP to
the emulator, exactly as it would to a Sharingtools installation.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx

from pydantic import SecretStr
from rich.console import Console

from orchestrator import playbook
from orchestrator.api import SharingtoolsClient
from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from orchestrator.apply.run import ApplyOptions
from orchestrator.planning.planner import build_plan
from orchestrator.render import Legend, render_text
from orchestrator.cli.apply import run_apply
from orchestrator.api.settings import Settings

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
ENGINE_EVERY = 1.0  # seconds between the emulated cron's passes (the served emulator's: 5)


@asynccontextmanager
async def engine_running(url: str, every: float = ENGINE_EVERY) -> AsyncIterator[None]:
    """The emulator's engine passes, through its control surface, while the demo runs."""
    async with httpx.AsyncClient(base_url=f"{url}/_emulator") as control, anyio.create_task_group() as tg:
        async def tick() -> None:
            while True:
                await anyio.sleep(every)
                await control.post("/tick")

        tg.start_soon(tick)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()


async def run_demo(console: Console | None = None, playbooks: Path = PLAYBOOKS) -> int:
    console = console or Console(highlight=False, soft_wrap=True)
    state, keys = build_state(seed="demo", real_clock=True)
    with BackgroundServer(create_app(state)) as server, tempfile.TemporaryDirectory() as tmp:
        async with engine_running(server.url):
            return await _walk_through(console, server.url, keys, Path(tmp), playbooks)


async def _walk_through(console: Console, url: str, keys: dict[str, str], tmp: Path, playbooks: Path) -> int:
    colour = console.is_terminal
    console.rule("[bold]1. An emulated Sharingtools installation")
    console.print(f"The emulator serves alice's agency (25 Instagram accounts) at [cyan]{url}/api/v1[/]; "
                  f"its OpenAPI document is at {url}/openapi.json. Its clock is live and its engine runs "
                  "every second: schedules of accounts that need a new Instagram login are switched off.")
    settings = Settings(base_url=f"{url}/api/v1", api_key=SecretStr(keys["alice"]),
                        state_db=tmp / "state.db", rate=200, concurrency=16)

    console.rule("[bold]2. orchestrator validate playbooks/")
    problems = playbook.validate([playbooks])
    for problem in problems:
        console.print(str(problem), markup=False)
    if problems:
        return 1
    book = playbook.load([playbooks])
    files = ", ".join(Path(f).name for f in book.files)
    console.print(f"Valid: {len(book.files)} files ({files}), {len(book.groups)} groups, {len(book.entries)} entries.")

    console.rule("[bold]3. orchestrator plan playbooks/")
    async with SharingtoolsClient.from_settings(settings) as client:
        planned = await build_plan(client, book)
        reads = client.transport.stats.snapshot()["total"]
    console.print(render_text(planned.plan, colour=colour, legend=Legend.of(planned.desired, book)), markup=colour)
    console.print(
        f"[dim]Read with {reads} requests: lists once, 100 a page; settings only where a playbook names them.[/]"
    )

    console.rule("[bold]4. orchestrator apply playbooks/ --yes")
    console.print("[dim](the plan is shown again by apply, as it would be before its confirmation prompt)[/]")
    code = await run_apply(settings, book, ApplyOptions(), yes=True, console=console)
    if code != 0:
        return code

    console.rule("[bold]5. orchestrator plan playbooks/ (again, once the engine has run)")
    await anyio.sleep(2 * ENGINE_EVERY)
    async with SharingtoolsClient.from_settings(settings) as client:
        again = await build_plan(client, book)
    console.print(render_text(again.plan, colour=colour), markup=colour)
    if again.plan.blocked:
        console.print("[dim]Blocked changes are not attempted and do not count as changes: once those accounts "
                      "log in again, the next run applies them.[/]")
    console.rule()
    console.print("Try it yourself: [bold]orchestrator emulator serve --seed demo --keys-file keys.json[/], then "
                  "SHARINGTOOLS_API_KEY from keys.json and [bold]orchestrator plan playbooks/[/]. "
                  "See README.md for the playbook format.")
    return 0 if again.plan.empty else 4
