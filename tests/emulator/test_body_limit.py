"""Request bodies over the limit are answered 413, in the API's envelope, without being read.

In process the transport hands the body over chunk by chunk as the app asks for it, so these
tests can count what the server pulled; over a real uvicorn they show a 100 MB body costs the
server no more than the limit.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import psutil
import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.body_guard import DEFAULT_MAX_BODY_BYTES
from orchestrator.emulator.server import BackgroundServer
from orchestrator.emulator.testing import BASE_URL, EmulatorTransport, LocalEmulator
from tests.conftest import data, error

CHUNK = 64 * 1024
JSON = {"content-type": "application/json"}
TOO_LARGE = f"Request body too large: at most {DEFAULT_MAX_BODY_BYTES} bytes"


def padded(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (a caption whose text is the padding)."""
    frame = json.dumps({"title": "t", "caption": ""}).encode()
    return json.dumps({"title": "t", "caption": "x" * (size - len(frame))}).encode()


async def test_a_declared_length_over_the_limit_is_413_in_the_envelope(alice):
    body = padded(DEFAULT_MAX_BODY_BYTES + 1)
    r = await alice.post("/captions", content=body, headers={"content-type": "application/json"})
    assert error(r, 413, TOO_LARGE) == {"status": "error", "message": TOO_LARGE}


async def test_post_actions_answers_413_in_its_own_envelope(alice):
    r = await alice.post("/post-actions/jobs", content=padded(DEFAULT_MAX_BODY_BYTES + 1))
    assert error(r, 413) == {"success": False, "message": TOO_LARGE}


async def test_a_body_at_the_limit_is_served(emu: LocalEmulator):
    app = create_app(emu.state, max_body_bytes=200)
    headers = {"Authorization": f"Bearer {emu.keys['alice']}"}
    async with httpx.AsyncClient(transport=EmulatorTransport(app), base_url=f"{BASE_URL}/api/v1",
                                 headers=headers) as client:
        created = data(await client.post("/captions", content=padded(200), headers=JSON), 201)
        assert created["title"] == "t"
        error(await client.post("/captions", content=padded(201), headers=JSON), 413,
              "Request body too large: at most 200 bytes")


async def test_a_streamed_body_is_refused_once_past_the_limit_not_read_to_its_end(alice):
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(10_000):  # 640 MB if it were all read
            sent += CHUNK
            yield b" " * CHUNK

    r = await alice.post("/captions", content=endless())
    error(r, 413, TOO_LARGE)
    assert sent <= DEFAULT_MAX_BODY_BYTES + 2 * CHUNK


async def test_the_control_surface_is_limited_too(control):
    r = await control.post("/clock/advance", content=padded(DEFAULT_MAX_BODY_BYTES + 1))
    assert r.status_code == 413


# -- through a real uvicorn -------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[tuple[BackgroundServer, str]]:
    emu = LocalEmulator("demo")
    with BackgroundServer(create_app(emu.state)) as served:
        yield served, emu.keys["alice"]


def test_uvicorn_answers_a_declared_100_mb_body_before_it_is_sent(server):
    served, key = server
    host, port = served.server.servers[0].sockets[0].getsockname()[:2]
    head = (f"POST /api/v1/captions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head.encode())  # and not one byte of the body
        reply = sock.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 413 ")
    assert reply.endswith(json.dumps({"status": "error", "message": TOO_LARGE}, separators=(",", ":")))


def test_uvicorn_refuses_a_streamed_100_mb_body_in_bounded_memory(server):
    served, key = server
    process = psutil.Process()
    before = process.memory_info().rss
    peak = before
    chunk = b" " * (1024 * 1024)  # one buffer, sent 100 times: the client holds 1 MB

    def stream() -> Iterator[bytes]:
        nonlocal peak
        for _ in range(100):
            peak = max(peak, process.memory_info().rss)
            yield chunk

    with httpx.Client(base_url=f"{served.url}/api/v1", headers={"Authorization": f"Bearer {key}"},
                      timeout=60) as client:
        r = client.post("/captions", content=stream(), headers={"content-type": "application/json"})
        error(r, 413, TOO_LARGE)
        # The connection stays usable: uvicorn discarded the rest of the body.
        assert client.get("/captions").status_code == 200
    # Server and client share this process: a server holding the body would add 100 MB.
    assert peak - before < 40 * 1024 * 1024


# -- file uploads -----------------------------------------------------------------------------
def upload_client(emu: LocalEmulator, max_upload_bytes: int) -> httpx.AsyncClient:
    app = create_app(emu.state, max_upload_bytes=max_upload_bytes)
    return httpx.AsyncClient(transport=EmulatorTransport(app), base_url=f"{BASE_URL}/api/v1",
                             headers={"Authorization": f"Bearer {emu.keys['alice']}"})


async def test_uploads_have_their_own_larger_limit(alice):
    file = {"file": ("big.jpg", b"x" * (DEFAULT_MAX_BODY_BYTES + 1), "image/jpeg")}
    assert data(await alice.post("/media", files=file), 201)["filesize"] == DEFAULT_MAX_BODY_BYTES + 1


async def test_an_upload_over_its_limit_is_413(emu: LocalEmulator):
    async with upload_client(emu, 1000) as client:
        r = await client.post("/media", files={"file": ("big.jpg", b"x" * 2000, "image/jpeg")})
        error(r, 413, "Request body too large: at most 1000 bytes")


async def test_a_streamed_upload_over_its_limit_is_413_before_its_end(emu: LocalEmulator):
    sent = 0
    boundary = b"b0undary"

    async def multipart() -> AsyncIterator[bytes]:
        nonlocal sent
        yield (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
               b"Content-Type: image/jpeg\r\n\r\n")
        for _ in range(10_000):
            sent += CHUNK
            yield b"x" * CHUNK

    async with upload_client(emu, 10 * CHUNK) as client:
        r = await client.post("/media", content=multipart(),
                              headers={"content-type": f"multipart/form-data; boundary={boundary.decode()}"})
        error(r, 413, f"Request body too large: at most {10 * CHUNK} bytes")
    assert sent <= 12 * CHUNK
