"""A canary key and a canary password are fed through every error path; neither may appear in
any output, log line, exception message or traceback."""

from __future__ import annotations

import io
import logging
import traceback

import anyio
import anyio.lowlevel
import pytest
import structlog
from typer.testing import CliRunner

from orchestrator import log
from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import SharingtoolsError
from orchestrator.api.retry import RetrySettings
from orchestrator.cli.app import app
from orchestrator.emulator.testing import BASE_URL

CANARY_KEY = "sht_" + "c4a7" * 16
CANARY_PASSWORD = "canary-p4ssw0rd-7781"


async def no_wait(seconds: float) -> None:
    await anyio.lowlevel.checkpoint()


@pytest.fixture
def captured():
    """All log output (structlog and stdlib) at debug level, as text."""
    buffer = io.StringIO()
    log.configure("debug", "json")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(buffer))
    handler = logging.StreamHandler(buffer)
    handler.addFilter(log.RedactingFilter())
    logging.getLogger().addHandler(handler)
    yield buffer
    logging.getLogger().removeHandler(handler)
    structlog.reset_defaults()


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


async def test_canary_key_never_appears(emu, control, captured):
    emu.state.create_user("canary", key=CANARY_KEY)
    texts: list[str] = []
    scenarios = [
        ({}, lambda c: c.accounts.get(1)),  # the user has no accounts: 404
        ({}, lambda c: c.accounts.change_proxy(999, "bad")),
        ({"error_rate": 1.0, "error_statuses": {"503": 1}}, lambda c: c.accounts.get(1)),
        ({"drop_rate": 1.0}, lambda c: c.accounts.get(1)),
        ({"lost_response_rate": 1.0, "methods": ["POST"]}, lambda c: c.accounts.set_password(1, CANARY_PASSWORD)),
        # the later revision's account lifecycle carries passwords too
        ({}, lambda c: c.accounts.add("not a username", CANARY_PASSWORD)),
        ({}, lambda c: c.accounts.login(1, password=CANARY_PASSWORD)),
        ({"lost_response_rate": 1.0, "methods": ["POST"]}, lambda c: c.accounts.add("canary_acct", CANARY_PASSWORD)),
    ]
    for faults, call in scenarios:
        await control.put("/faults", json=faults)
        async with SharingtoolsClient(
            f"{BASE_URL}/api/v1", CANARY_KEY, transport=emu.transport(), sleep=no_wait,
            retry=RetrySettings(attempts=2),
        ) as client:
            texts.append(repr(client._http))
            with pytest.raises(SharingtoolsError) as err:
                await call(client)
            texts.append(_all_text(err.value))
    await control.delete("/faults")
    async with SharingtoolsClient(
        f"{BASE_URL}/api/v1", "sht_" + "0" * 64, transport=emu.transport(), sleep=no_wait
    ) as c:
        with pytest.raises(SharingtoolsError) as err:
            await c.accounts.get(1)
        texts.append(_all_text(err.value))
    logging.getLogger("test").error("key %s password %s", CANARY_KEY, CANARY_PASSWORD)
    structlog.get_logger().error("boom", authorization=f"Bearer {CANARY_KEY}", detail=f"pw={CANARY_PASSWORD}")
    everything = "\n".join(texts) + captured.getvalue()
    assert "request" in captured.getvalue()  # debug request logs were captured
    assert CANARY_KEY not in everything and CANARY_KEY[4:] not in everything
    assert CANARY_PASSWORD not in everything


def test_canary_key_never_reaches_cli_output(monkeypatch, tmp_path):
    runner = CliRunner()
    monkeypatch.setenv("SHARINGTOOLS_API_KEY", CANARY_KEY)
    outputs = []
    for url in ("http://127.0.0.1:9/api/v1", "http://example.com/api/v1"):
        monkeypatch.setenv("SHARINGTOOLS_BASE_URL", url)
        monkeypatch.setenv("SHARINGTOOLS_RETRY_ATTEMPTS", "1")
        result = runner.invoke(app, ["--log-level", "debug", "api", "GET", "accounts"])
        assert result.exit_code == 1
        outputs.append(result.output + result.stderr)
    monkeypatch.setenv("SHARINGTOOLS_API_KEY", CANARY_KEY + "zz")  # malformed
    result = runner.invoke(app, ["api", "GET", "accounts"])
    outputs.append(result.output + result.stderr)
    config = tmp_path / "orchestrator.yaml"
    config.write_text(f"api_key: {CANARY_KEY}\n")
    monkeypatch.setenv("SHARINGTOOLS_CONFIG", str(config))
    result = runner.invoke(app, ["api", "GET", "accounts"])
    assert result.exit_code == 1 and "must not be written in the config file" in result.stderr
    outputs.append(result.output + result.stderr)
    joined = "\n".join(outputs)
    assert "error:" in joined
    assert CANARY_KEY not in joined and CANARY_KEY[4:20] not in joined
