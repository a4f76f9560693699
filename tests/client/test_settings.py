"""Configuration: sources and their order, key checks, transport security."""

from __future__ import annotations

import pytest

from orchestrator.api.errors import ClientConfigError
from orchestrator.api.settings import load_settings

KEY = "sht_" + "ab" * 32


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("SHARINGTOOLS_API_KEY", "SHARINGTOOLS_BASE_URL", "SHARINGTOOLS_RATE", "SHARINGTOOLS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_flags_over_env_over_file(monkeypatch, tmp_path):
    (tmp_path / "orchestrator.yaml").write_text("rate: 3\nconcurrency: 7\nbase_url: https://a.example/api/v1\n")
    monkeypatch.setenv("SHARINGTOOLS_RATE", "5")
    s = load_settings(rate=9.0)
    assert (s.rate, s.concurrency, s.base_url) == (9.0, 7, "https://a.example/api/v1")
    assert load_settings().rate == 5.0


def test_key_from_file_and_shape_check(tmp_path):
    keyfile = tmp_path / "key"
    keyfile.write_text(KEY + "\n")
    assert load_settings(api_key_file=str(keyfile)).resolved_key() == KEY
    keyfile.write_text("sht_nothex\n")
    with pytest.raises(ClientConfigError, match="64 hex"):
        load_settings(api_key_file=str(keyfile)).resolved_key()
    with pytest.raises(ClientConfigError, match="no API key"):
        load_settings().resolved_key()


def test_plain_http_only_to_loopback(monkeypatch):
    monkeypatch.setenv("SHARINGTOOLS_API_KEY", KEY)
    load_settings(base_url="http://127.0.0.1:8765/api/v1").check_transport_security()
    load_settings(base_url="http://localhost/api/v1").check_transport_security()
    with pytest.raises(ClientConfigError, match="plain http"):
        load_settings(base_url="http://api.example.com/api/v1").check_transport_security()
    load_settings(base_url="http://api.example.com/api/v1", allow_insecure_http=True).check_transport_security()


def test_bad_values_are_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ClientConfigError, match="invalid setting rate"):
        load_settings(rate=-1)
    (tmp_path / "orchestrator.yaml").write_text("rate: [\n")
    with pytest.raises(ClientConfigError, match=r"orchestrator.yaml:\d+:\d+: not valid YAML"):
        load_settings()
    (tmp_path / "orchestrator.yaml").write_text("speed: 3\n")
    with pytest.raises(ClientConfigError, match="invalid setting speed"):
        load_settings()
    monkeypatch.setenv("SHARINGTOOLS_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ClientConfigError, match="does not exist"):
        load_settings()
