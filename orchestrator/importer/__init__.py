"""``orchestrator import``: write a playbook from what an installation runs today.

    accounts -> read every managed kind (live.py) -> facets, configurations, groups and
    entries (layout.py, pure) -> YAML with comments (render.py)

The result is valid, never holds a secret (a proxy with credentials becomes ``{env: ...}``
to fill in), and its plan is empty: it says exactly what is live, field by field, in as few
entries as the accounts' configurations allow.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.api import SharingtoolsClient
from orchestrator.importer.layout import Layout, lay_out
from orchestrator.importer.live import IMPORT_KINDS, LiveAccount, LiveFleet, read_fleet
from orchestrator.importer.render import render
from orchestrator.contract import Kind

__all__ = ["IMPORT_KINDS", "ImportError_", "ImportOptions", "Imported", "import_playbook", "parse_kinds", "plural"]


class ImportError_(ValueError):  # noqa: N801 - ``ImportError`` is Python's own
    """Options that cannot be imported as given (an unknown kind, a --limit matching nothing)."""


@dataclass(frozen=True)
class ImportOptions:
    kinds: frozenset[Kind] = frozenset(IMPORT_KINDS)
    limit: Sequence[str] = ()  # usernames or username patterns
    exact_proxies: bool = False  # write each account's proxy, not `auto`
    per_account: bool = False  # one entry per account, sharing nothing
    source: str = ""  # where the state was read, for the header


@dataclass
class Imported:
    text: str
    layout: Layout
    notes: list[str] = field(default_factory=list)


def parse_kinds(values: Iterable[str]) -> frozenset[Kind]:
    """``--kinds reactions,repost --kinds leads`` -> those kinds; nothing given: every kind."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    if not names:
        return frozenset(IMPORT_KINDS)
    known = {k.value: k for k in IMPORT_KINDS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ImportError_(f"unknown kind {unknown[0]!r} in --kinds: use {', '.join(known)}")
    return frozenset(known[n] for n in names)


def select_accounts(accounts: Sequence[LiveAccount], limit: Sequence[str]) -> list[LiveAccount] | None:
    """The accounts ``--limit`` names (usernames or patterns); None without a limit."""
    if not limit:
        return None
    chosen: dict[int, LiveAccount] = {}
    for name in limit:
        found = [a for a in accounts if fnmatch.fnmatchcase(a.username.casefold(), name.casefold())]
        if not found:
            raise ImportError_(f"--limit {name!r} matches no account: give usernames or patterns such as 'fashion_*'")
        chosen.update((a.id, a) for a in found)
    return sorted(chosen.values(), key=lambda a: a.id)


async def import_playbook(client: SharingtoolsClient, options: ImportOptions | None = None) -> Imported:
    """Read the installation and write its playbook (the text, its layout, and notes on what
    could not be written)."""
    options = options or ImportOptions()
    listed = [a async for a in client.accounts.list()]
    accounts = [LiveAccount(a.id, a.username) for a in listed]
    selected = select_accounts(accounts, options.limit)
    kinds = set(options.kinds)
    if selected is not None:
        kinds.discard(Kind.CAPTIONS)  # the library belongs to no account, as under plan --limit
    fleet = await read_fleet(client, kinds, selected, accounts, exact_proxies=options.exact_proxies,
                             proxies={a.id: a.proxy for a in listed})
    layout = lay_out(fleet, per_account=options.per_account)
    if not (layout.entries or layout.captions):
        why = "; ".join(fleet.notes) or "they have none of the kinds asked for"
        raise ImportError_(f"nothing to import from {len(selected or accounts)} accounts: {why}")
    return Imported(render(layout, header(fleet, layout, options)), layout, fleet.notes)


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def header(fleet: LiveFleet, layout: Layout, options: ImportOptions) -> list[str]:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Imported by `orchestrator import` from {options.source or 'the API'} on {when}.",
        f"{plural(layout.accounts, 'account')} in {plural(layout.configurations, 'configuration')}, "
        f"{plural(len(layout.entries), 'entry', 'entries')}: `orchestrator plan` of this file shows no changes.",
        "",
        "Entries apply top to bottom and a later entry overrides an earlier one field by field:",
        "settings most schedules share come first, then what differs. Targets, first-comment",
        "schedules and captions are additive: add `prune: true` to make a list exact. Every",
        "setting the server returned is managed; delete the ones you want left alone.",
    ]
    if "auto" in {str(e.kinds.get(Kind.ACCOUNT, {}).get("proxy")) for e in layout.entries}:
        lines.append("`proxy: auto` keeps a proxy assigned; `--exact-proxies` writes each account's own.")
    if layout.secrets:
        lines += ["", "Secrets are never written. Before plan or apply, set: " + ", ".join(layout.secrets)]
    if fleet.notes:
        lines += ["", "Not imported (a playbook cannot say it; the plan leaves it alone):"]
        lines += [f"- {note}" for note in fleet.notes[:50]]
        if len(fleet.notes) > 50:
            lines.append(f"- and {len(fleet.notes) - 50} more (see the command's output)")
    return lines
