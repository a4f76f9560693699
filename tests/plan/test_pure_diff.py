"""Diffs are pure: a secret reference is read before the diff (``KindHandler.resolve``, called by
the planner), and the diff compares the value it is given without I/O or registration."""

from __future__ import annotations

import pytest

from orchestrator import log
from orchestrator.contract import Account, AccountDesired, Kind, Position, ResolvedSecret, SecretRef, Sourced
from orchestrator.kinds import KindRegistry

ACCOUNT = Account(1, "fashion_nova")
AT = Position("/books/proxies.yaml", 7, 14)
ACCOUNTS = KindRegistry.default()[Kind.ACCOUNT]


def proxy(value: str | SecretRef | ResolvedSecret) -> AccountDesired:
    return AccountDesired(proxy=Sourced(value, AT))


def test_resolve_reads_the_reference_and_registers_the_secret(monkeypatch):
    monkeypatch.setenv("PURE_DIFF_PROXY", "socks5://user:s3cret-proxy@10.0.0.1:1080")
    resolved = ACCOUNTS.resolve(proxy(SecretRef(env="PURE_DIFF_PROXY")))
    secret = resolved.proxy.value
    assert isinstance(secret, ResolvedSecret)
    assert secret.value == "socks5://user:s3cret-proxy@10.0.0.1:1080" and secret.base_dir == "/books"
    assert "s3cret" not in repr(resolved) and "s3cret" not in str(secret)
    assert "s3cret" not in log.redact_text(f"failed with {secret.value}")


def test_an_unreadable_reference_is_a_lookup_error_naming_the_reference(monkeypatch):
    monkeypatch.delenv("PURE_DIFF_UNSET", raising=False)
    with pytest.raises(LookupError) as raised:
        ACCOUNTS.resolve(proxy(SecretRef(env="PURE_DIFF_UNSET")))
    assert str(raised.value) == ("proxy {env: PURE_DIFF_UNSET} (/books/proxies.yaml:7:14): "
                                 "environment variable PURE_DIFF_UNSET is not set")


def test_the_diff_of_a_resolved_secret_reads_nothing_and_shows_only_the_reference(monkeypatch):
    # The reference names a file that does not exist: a diff that read it would fail.
    secret = ResolvedSecret(SecretRef(file="missing/proxy.txt"), "/books", "http://u:p4ss-pure-diff@h:1")
    monkeypatch.setattr(SecretRef, "resolve", lambda *a, **k: pytest.fail("the diff read a secret"))
    desired = proxy(secret)
    assert ACCOUNTS.diff(ACCOUNT, desired, {"proxy": "http://u:p4ss-pure-diff@h:1"}) == []
    [change] = ACCOUNTS.diff(ACCOUNT, desired, {"proxy": "http://other:1"})
    assert (change.before, change.after) == (log.MASK, f"{log.MASK} ({{file: missing/proxy.txt}})")
    assert change.ref == {"env": None, "file": "missing/proxy.txt", "base_dir": "/books"}
    assert secret.value not in log._secrets  # registering is resolve's job, at the edge


def test_an_unresolved_reference_never_reaches_a_diff():
    with pytest.raises(TypeError, match="resolves it first"):
        ACCOUNTS.diff(ACCOUNT, proxy(SecretRef(env="X")), {"proxy": None})
