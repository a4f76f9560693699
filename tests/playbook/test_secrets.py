"""Secrets are refused inline wherever they appear, never echoed, and resolved by reference."""

from __future__ import annotations

import pytest

from orchestrator.contract import SecretRef
from orchestrator.playbook import Source, validate_sources

SECRET = "hunter2-very-secret"


def problems(text: str) -> list[str]:
    return [str(d) for d in validate_sources([Source("p.yaml", text)])]


@pytest.mark.parametrize("text, where, message", [
    (f"groups: {{g: {{all: true}}}}\nentries:\n  - groups: g\n    account: {{password: {SECRET}}}\n",
     "p.yaml:4:15", "secret `password` is written inline"),
    (f"groups: {{g: {{all: true}}}}\nentries:\n  - groups: g\n    reactions:\n"
     f"      settings: {{api_key: {SECRET}}}\n",
     "p.yaml:5:18", "secret `api_key` is written inline"),
    (f"groups: {{g: {{all: true}}}}\nopenai_token: {SECRET}\n", "p.yaml:2:1",
     "secret `openai_token` is written inline"),
    ("groups: {g: {all: true}}\nentries:\n  - groups: g\n    reactions:\n      settings:\n"
     f"        custom_proxy: http://me:{SECRET}@10.0.0.1:3128\n",
     "p.yaml:6:9", "`custom_proxy` carries a username and password inline"),
    ("groups: {g: {all: true}}\ncaptions: {library: {Oops: 'key sht_0123456789abcdef0123456789abcdef'}}\n",
     "p.yaml:2:22", "an API key is written inline"),
])
def test_inline_secrets_are_refused_and_never_echoed(text: str, where: str, message: str) -> None:
    (problem,) = problems(text)
    assert problem.startswith(f"{where}: {message}")
    assert SECRET not in problem and "sht_0123" not in problem


def test_references_are_accepted_where_secrets_belong() -> None:
    text = """
groups: {g: {all: true}}
entries:
  - groups: g
    account:
      proxy: {file: secrets/proxy.txt}
      password: {env: FASHION_PASSWORD}
    reactions:
      settings: {custom_proxy: {env: CAMPAIGN_PROXY}}
"""
    assert problems(text) == []


def test_a_reference_where_no_secret_belongs_is_an_unknown_key() -> None:
    (problem,) = problems("groups: {g: {all: true}}\nentries:\n"
                          "  - {groups: g, welcomedm: {state: active, password: {env: X}}}\n")
    assert "unknown key `password` in `welcomedm`" in problem


def test_secret_ref_resolves_from_env_and_files(tmp_path) -> None:
    assert SecretRef(env="PW").resolve(environ={"PW": "s3"}) == "s3"
    (tmp_path / "pw.txt").write_text("from-file\n")
    assert SecretRef(file="pw.txt").resolve(base_dir=tmp_path) == "from-file"
    with pytest.raises(LookupError, match="PW is not set"):
        SecretRef(env="PW").resolve(environ={})
    assert str(SecretRef(env="PW")) == "{env: PW}"
