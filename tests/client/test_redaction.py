"""The registry of secrets to mask: bounded, not rebuilt per redaction, longest secret first."""

from __future__ import annotations

from orchestrator.log import MASK, SecretRegistry


def test_registered_secrets_are_masked_longest_first():
    registry = SecretRegistry()
    registry.add("hunter2")
    registry.add("hunter2-and-more")
    assert registry.redact("a hunter2-and-more b hunter2 c") == f"a {MASK} b {MASK} c"
    assert registry.redact("nothing here") == "nothing here"
    assert SecretRegistry().redact("empty registry") == "empty registry"


def test_registering_again_neither_grows_the_registry_nor_rebuilds_the_pattern():
    registry = SecretRegistry()
    registry.add("proxy-secret-1")
    registry.redact("x")
    pattern = registry._pattern
    for _ in range(1000):  # a reconcile loop registers the same secret on every plan
        registry.add("proxy-secret-1")
        registry.redact("proxy-secret-1")
    assert len(registry) == 1
    assert registry._pattern is pattern
    registry.add("proxy-secret-2")  # a new value: the next redaction builds a new pattern
    assert registry.redact("proxy-secret-2") == MASK
    assert registry._pattern is not pattern


def test_the_registry_is_bounded_and_keeps_what_was_registered_last():
    registry = SecretRegistry(limit=3)
    for value in ("old-1", "old-2", "kept-3"):
        registry.add(value)
    registry.add("old-1")  # registered again: in use, so it stays
    registry.add("new-4")
    assert len(registry) == 3
    assert "old-2" not in registry
    assert all(v in registry for v in ("old-1", "kept-3", "new-4"))
    assert registry.redact("old-1 old-2") == f"{MASK} old-2"
