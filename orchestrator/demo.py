"""``orchestrator demo``: the whole loop on the embedded emulator, for a first look.

It starts the emulator with its demo world on a free loopback port (uvicorn on a background
thread), then runs what a user would: validate the example playbooks in ``playbooks/``, plan,
apply (with ``--yes``), and plan again to show that nothing is left to do. The client talks
real HTTP to it, exactly as it would to a Sharingtools installation.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from orchestrator import playbook
from orchestrator.api import SharingtoolsClient
from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from orchestrator.engine.apply import ApplyOptions
from orchestrator.render import Legend, render_text
from orchestrator.planner import build_plan
from orchestrator.runner import run_apply
from orchestrator.settings import Settings

PLAYBOOKS = Path(__file__).resolve().parent.parent / "playbooks"


async def run_demo(console: Console | None = None, playbooks: Path = PLAYBOOKS) -> int:
    console = console or Console(highlight=False, soft_wrap=True)
    colour = console.is_terminal
    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as server, tempfile.TemporaryDirectory() as tmp:
        console.rule("[bold]1. An emulated Sharingtools installation")
        console.print(f"The emulator serves alice's agency (25 Instagram accounts) at [cyan]{server.url}/api/v1[/]; "
                      f"its OpenAPI document is at {server.url}/openapi.json.")
        settings = Settings(base_url=f"{server.url}/api/v1", api_key=SecretStr(keys["alice"]),
                            state_db=Path(tmp) / "state.db", rate=200, concurrency=16)

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
        console.print(f"[dim]Read with {reads} requests: lists once, 100 a page; settings only where a playbook names them.[/]")

        console.rule("[bold]4. orchestrator apply playbooks/ --yes")
        console.print("[dim](the plan is shown again by apply, as it would be before its confirmation prompt)[/]")
        code = await run_apply(settings, book, ApplyOptions(), yes=True, console=console)
        if code != 0:
            return code

        console.rule("[bold]5. orchestrator plan playbooks/ (again)")
        async with SharingtoolsClient.from_settings(settings) as client:
            again = await build_plan(client, book)
        console.print(render_text(again.plan, colour=colour), markup=colour)
        console.rule()
        console.print("Try it yourself: [bold]orchestrator emulator serve --seed demo --keys-file keys.json[/], then "
                      "SHARINGTOOLS_API_KEY from keys.json and [bold]orchestrator plan playbooks/[/]. "
                      "See README.md for the playbook format.")
        return 0 if again.plan.empty else 4
