"""``orchestrator demo``: the embedded emulator with its demo world, and a first look through the client.

It starts the emulator on a free loopback port (uvicorn on a background thread), connects
the real client over HTTP, and shows what an agency's installation looks like from the
orchestrator's side. The plan/apply walk-through is added here as those commands land.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orchestrator.api import SharingtoolsClient
from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from orchestrator.emulator.seed import write_keys


async def run_demo(console: Console | None = None) -> int:
    console = console or Console()
    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as server, tempfile.TemporaryDirectory() as tmp:
        keys_file = Path(tmp) / "keys.json"
        write_keys(keys_file, keys)
        console.rule("[bold]Sharingtools emulator")
        console.print(f"Serving the demo world at [cyan]{server.url}/api/v1[/] (OpenAPI at {server.url}/openapi.json)")
        console.print(f"Users alice, bob and admin; their keys were written to a mode-600 file, never printed.")
        async with SharingtoolsClient(f"{server.url}/api/v1", keys["alice"], rate=200, concurrency=16) as client:
            accounts = [a async for a in client.accounts.list()]
            niches = Counter(a.username.split("_")[0] for a in accounts)
            console.print(f"\nalice's agency manages [bold]{len(accounts)}[/] Instagram accounts: "
                          + ", ".join(f"{n} {niche}_*" for niche, n in niches.items()))
            table = Table(title="Accounts (first 10)", show_lines=False)
            for col in ("id", "username", "proxy", "login required"):
                table.add_column(col)
            for a in accounts[:10]:
                table.add_row(str(a.id), a.username, a.proxy or "[yellow]none[/]", "yes" if a.login_required else "")
            console.print(table)
            await _show_modules(client, console)
            stats = client.transport.stats.snapshot()
            console.print(f"\n{stats['total']} API requests, {stats['retries']} retries.")
    return 0


async def _show_modules(client: SharingtoolsClient, console: Console) -> None:
    reactions = getattr(client, "reactions", None)
    if reactions is None:
        return
    schedules = [s async for s in reactions.list_schedules()]
    active = sum(1 for s in schedules if getattr(s, "is_active", False))
    console.print(f"Reactions Pro: {len(schedules)} schedules, {active} active.")
