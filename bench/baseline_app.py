"""The baseline for the emulator benchmark: the smallest Starlette app answering the same JSON
envelope, served by the same uvicorn. The gap to it is what auth, routing, the store and
FastAPI's dependency injection cost."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

BODY = {"status": "success", "data": {"id": 1, "username": "fashion_nova", "platform": "instagram"}}


async def account(request):  # noqa: ANN001
    return JSONResponse(BODY)


async def settings(request):  # noqa: ANN001
    await request.body()
    return JSONResponse({"status": "success", "data": {"account_id": 1, "updated_fields": ["likes_speed"]}})


app = Starlette(routes=[
    Route("/api/v1/accounts/{id}", account),
    Route("/api/v1/reactions/schedules/{id}/settings", settings, methods=["GET", "PATCH"]),
])
