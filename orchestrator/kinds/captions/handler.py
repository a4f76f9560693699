"""The caption library: the API key's user's captions, keyed by title.

Captions belong to the user, not to an account: their changes carry account id 0 and run in
a lane of their own. The API does not deduplicate titles, so a create whose answer was lost
is found again by the client's read-back (title and text) rather than sent twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import ModuleNotEnabled, ModuleNotInstalled, NotFound, SharingtoolsError
from orchestrator.contract import LIBRARY, LIBRARY_ID, Account, CaptionsDesired, Kind
from orchestrator.kinds.base import (
    ITEM,
    paths,
    PHASE_EDIT,
    KindHandler,
    LibraryReadFailed,
    Live,
    Op,
    Operation,
    ReadContext,
    ReadResult,
    change,
)
from orchestrator.plan import Change


class CaptionsKind(KindHandler):
    kind = Kind.CAPTIONS
    changes = paths(create=f"captions{ITEM}", update=f"captions{ITEM}", delete=f"captions{ITEM}")
    undeduplicated = frozenset({Op.CREATE})  # the server does not deduplicate creates

    async def read(self, ctx: ReadContext, accounts: Sequence[Account], desired: Mapping[int, Any]) -> ReadResult:
        try:
            captions = [{"id": c.id, "title": c.title, "caption": c.caption} async for c in ctx.client.captions.list()]
        except (ModuleNotEnabled, ModuleNotInstalled):
            raise
        except SharingtoolsError as exc:  # read as empty, the library would be created again
            raise LibraryReadFailed("the caption library (GET /captions)", exc) from exc
        return ReadResult(live={LIBRARY_ID: {"captions": sorted(captions, key=lambda c: c["id"])}})

    def diff(self, account: Account, desired: CaptionsDesired, live: Live) -> list[Change]:
        out: list[Change] = []
        by_title: dict[str, dict[str, Any]] = {}
        extra: list[dict[str, Any]] = []
        for c in sorted(live["captions"], key=lambda c: c["id"]):  # the oldest copy of a title is kept
            (extra.append(c) if c["title"] in by_title else by_title.__setitem__(c["title"], c))
        for title, want in sorted(desired.captions.items()):
            have = by_title.pop(title, None)
            if have is None:
                out.append(change(LIBRARY, self.kind, "create", f"captions[{title}]", None, want.value, want,
                                  ref={"title": title}))
            elif have["caption"] != want.value:
                out.append(change(LIBRARY, self.kind, "update", f"captions[{title}]", have["caption"], want.value, want,
                                  ref={"id": have["id"], "title": title}))
        if desired.exact:
            # Unlisted titles, and second copies of a listed title, are removed.
            for c in [*by_title.values(), *extra]:
                out.append(change(LIBRARY, self.kind, "delete", f"captions[{c['title']}]", c["caption"], None,
                                  desired.prune, ref={"id": c["id"], "title": c["title"]}))
        return out

    def operations(self, changes: Sequence[Change]) -> list[Operation]:
        return [Operation(self.kind, LIBRARY_ID, Op(c.action), (c,), PHASE_EDIT, args={**c.ref, "caption": c.after})
                for c in changes]

    async def recover(self, client: SharingtoolsClient, op: Operation) -> bool:
        if op.name != Op.CREATE:
            return False
        return await client.captions.find_created(op.args["title"], op.args["caption"]) is not None

    async def execute(self, client: SharingtoolsClient, op: Operation) -> None:
        api = client.captions
        match op.name:
            case Op.CREATE:
                await api.create(op.args["title"], op.args["caption"])
            case Op.UPDATE:
                await api.update(int(op.args["id"]), caption=op.args["caption"])
            case Op.DELETE:
                # already gone: a retried delete whose first answer was lost
                with contextlib.suppress(NotFound):
                    await api.delete(int(op.args["id"]))
            case _:  # pragma: no cover - operations() makes only the names above
                raise ValueError(op.name)
