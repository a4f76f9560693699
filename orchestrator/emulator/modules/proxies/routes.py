"""HTTP for ``GET /proxies``: the proxies the user's accounts use.

The reference has no proxy resource: a proxy is a string on an account, set by
``change-proxy``. The later revision lists proxies; here each distinct proxy of the caller's
accounts is one item with the accounts that use it, so the listing always agrees with
``GET /accounts``. Credentials in a proxy URL are masked: a listing is not where a secret
should travel.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlsplit

from fastapi import Depends, Query

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, ok, paged, responds
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=None, tag="Proxies")
core = Depends(auth(None))


class ProxyOut(Open):
    proxy: str
    scheme: str
    host: str
    port: int | None
    account_ids: list[int]
    accounts_count: int


def masked(proxy: str) -> str:
    """``user:pass@host`` becomes ``user:***@host``."""
    scheme, sep, rest = proxy.rpartition("://")
    creds, at, hostport = rest.rpartition("@")
    if at and ":" in creds:
        creds = creds.split(":", 1)[0] + ":***"
    return f"{scheme}{sep}{creds}{at}{hostport}"


def describe(proxy: str, account_ids: list[int]) -> dict[str, object]:
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return {"proxy": masked(proxy), "scheme": parts.scheme, "host": parts.hostname or "",
            "port": port, "account_ids": account_ids, "accounts_count": len(account_ids)}


def _proxies_in_use(ctx: Ctx, account_id: int | None) -> list[tuple[str, int]]:
    """(proxy, account id) of the caller's accounts that have one, by id. Read in SQL: decoding
    every account of a 10,000-account user to look at one field costs ten times as much."""
    sql = ("SELECT json_extract(data, '$.proxy'), id FROM accounts"
           " WHERE json_extract(data, '$.proxy') IS NOT NULL AND json_extract(data, '$.proxy') != ''")
    args: list[object] = []
    if ctx.owner_scope is not None:
        sql += " AND user_id = ?"
        args.append(ctx.owner_scope)
    if account_id is not None:
        if not -(2**63) <= account_id < 2**63:
            return []
        sql += " AND id = ?"
        args.append(account_id)
    ctx.store.table("accounts")  # the collection exists even in a world without accounts
    return [(proxy, id) for proxy, id in ctx.store.db.execute(sql + " ORDER BY id", args)]


@router.get("/proxies", **responds(ProxyOut, paged=True))
async def list_proxies(
    account_id: int | None = Query(None, description="only the proxy of this account"),
    page: Paging = Depends(paging),
    ctx: Ctx = core,
) -> JSON:
    users: dict[str, list[int]] = defaultdict(list)
    for proxy, id in _proxies_in_use(ctx, account_id):
        users[proxy].append(id)
    items = [describe(p, ids) for p, ids in sorted(users.items())]
    start = (page.page - 1) * page.per_page
    return ok(paged(items[start : start + page.per_page], len(items), page.page, page.per_page))
