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


@router.get("/proxies", **responds(ProxyOut, paged=True))
async def list_proxies(
    account_id: int | None = Query(None, description="only the proxy of this account"),
    page: Paging = Depends(paging),
    ctx: Ctx = core,
) -> JSON:
    users: dict[str, list[int]] = defaultdict(list)
    for doc in ctx.store.table("accounts").iter(user_id=ctx.owner_scope, id=account_id):
        if doc.get("proxy"):
            users[doc["proxy"]].append(doc["id"])
    items = [describe(p, ids) for p, ids in sorted(users.items())]
    start = (page.page - 1) * page.per_page
    return ok(paged(items[start : start + page.per_page], len(items), page.page, page.per_page))
