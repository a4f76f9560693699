"""The control surface under ``/_emulator/``: outside the API, for tests, benchmarks and demos.

Like moto's ``/moto-api/``: reset and seed the world, move the clock and run engine ticks,
set faults and a server-side rate limit, hold requests until released, read and reset request
counters, install or remove modules, create users and revoke keys, and read raw state (so a
test can check what the server holds rather than what a client believes). It needs no key: the
emulator is a local tool and listens on loopback.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, Field

from orchestrator.emulator.context import state_of
from orchestrator.emulator.engine import run_tick
from orchestrator.emulator.faults import FaultConfig, HoldConfig, RateLimitConfig
from orchestrator.emulator.state import MODULES, EmulatorState

router = APIRouter(include_in_schema=False)


def _state(request: Request) -> EmulatorState:
    return state_of(request)


class SeedRequest(BaseModel):
    spec: str = Field("demo", description="'demo', 'accounts=N' or both, comma-separated")


class AdvanceRequest(BaseModel):
    seconds: float = Field(0, ge=0)
    ticks: int = Field(1, ge=0, le=10_000, description="engine passes to run after advancing")


class UserRequest(BaseModel):
    username: str
    is_admin: bool = False
    modules: list[str] | None = None


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/seed")
async def seed(request: Request, body: SeedRequest = Body(default_factory=SeedRequest)) -> dict[str, Any]:
    from orchestrator.emulator.seed import apply_seed

    try:
        keys = apply_seed(_state(request), body.spec)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"keys": keys}


@router.get("/clock")
async def clock(request: Request) -> dict[str, Any]:
    c = _state(request).clock
    return {"now": c.stamp(), **c.snapshot()}


@router.post("/clock/advance")
async def advance(request: Request, body: AdvanceRequest) -> dict[str, Any]:
    state = _state(request)
    state.clock.advance(body.seconds)
    reports = [run_tick(state) for _ in range(body.ticks)]
    state.save()
    return {"now": state.clock.stamp(), "ticks": reports}


@router.post("/tick")
async def tick(request: Request, count: int = 1) -> dict[str, Any]:
    state = _state(request)
    return {"now": state.clock.stamp(), "ticks": [run_tick(state) for _ in range(max(0, min(count, 10_000)))]}


@router.get("/faults")
async def get_faults(request: Request) -> FaultConfig:
    return _state(request).faults


@router.put("/faults")
async def set_faults(request: Request, body: FaultConfig) -> FaultConfig:
    _state(request).faults = body
    return body


@router.delete("/faults")
async def clear_faults(request: Request) -> FaultConfig:
    _state(request).faults = FaultConfig()
    return _state(request).faults


@router.get("/hold")
async def get_hold(request: Request) -> dict[str, Any]:
    """What is held: the configuration, requests passed before holding began, held, held now."""
    return _state(request).hold.report()


@router.put("/hold")
async def set_hold(request: Request, body: HoldConfig) -> dict[str, Any]:
    """Hold the requests ``body`` scopes, after the first ``after`` (requests held before go on)."""
    hold = _state(request).hold
    hold.configure(body)
    return hold.report()


@router.post("/hold/release")
async def release_hold(request: Request) -> dict[str, int]:
    """Let the requests held now go on; later ones are held again."""
    return {"released": _state(request).hold.release()}


@router.delete("/hold")
async def clear_hold(request: Request) -> dict[str, Any]:
    """Hold nothing more; the requests held now go on."""
    hold = _state(request).hold
    released = hold.configure(None)
    return {**hold.report(), "released": released}


@router.get("/rate-limit")
async def get_rate_limit(request: Request) -> RateLimitConfig:
    return _state(request).rate_limit.config


@router.put("/rate-limit")
async def set_rate_limit(request: Request, body: RateLimitConfig) -> RateLimitConfig:
    _state(request).rate_limit.configure(body)
    return body


@router.get("/requests")
async def requests(request: Request) -> dict[str, Any]:
    return _state(request).counters.report()


@router.post("/requests/reset")
async def reset_requests(request: Request) -> dict[str, Any]:
    _state(request).counters.reset()
    return {"total": 0, "requests": []}


@router.get("/modules")
async def modules(request: Request) -> dict[str, Any]:
    return {"installed": sorted(_state(request).installed), "known": list(MODULES)}


@router.put("/modules")
async def set_modules(request: Request, body: dict[str, list[str]]) -> dict[str, Any]:
    unknown = set(body.get("installed", [])) - set(MODULES)
    if unknown:
        raise HTTPException(422, f"unknown modules: {sorted(unknown)}")
    state = _state(request)
    state.installed = set(body.get("installed", []))
    state.save()
    return {"installed": sorted(state.installed)}


@router.post("/users")
async def create_user(request: Request, body: UserRequest) -> dict[str, Any]:
    state = _state(request)
    if state.users.find_one(key=body.username):
        raise HTTPException(409, "user exists")
    user, key = state.create_user(body.username, is_admin=body.is_admin, modules=body.modules)
    return {"user": user, "key": key}


@router.post("/keys/revoke")
async def revoke(request: Request, body: dict[str, str]) -> dict[str, bool]:
    return {"revoked": _state(request).revoke_key(body.get("key", ""))}


@router.get("/state/{table}")
async def raw_state(
    request: Request, table: str, user_id: int | None = None, account_id: int | None = None
) -> dict[str, Any]:
    """Raw documents of one collection, for tests that check the server's side of things."""
    state = _state(request)
    exists = state.store.db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
    ).fetchone()
    if not exists or table in ("meta", "api_keys"):
        raise HTTPException(404, f"no collection {table!r}")
    items = state.store.table(table).all(user_id=user_id, account_id=account_id)
    return {"items": items, "total": len(items)}


@router.get("/challenges/{account_id}")
async def login_challenge(request: Request, account_id: int) -> dict[str, Any]:
    """The code of an account's pending login challenge: what Instagram would have emailed.
    A test reads it here and sends it to ``POST /api/v1/accounts/challenge``."""
    account = _state(request).store.table("accounts").get(account_id)
    challenge = (account or {}).get("challenge")
    if not challenge:
        raise HTTPException(404, f"no login challenge pending for account {account_id}")
    return {"account_id": account_id, "code": challenge["code"], "method": challenge["method"]}
