"""Hostile and broken inputs: each ends in one clear line (or file:line:col diagnostics) with
the README's exit code, never a traceback, never a hang.

Cases by class: playbooks, the config file, the environment, saved plans, state files and
command-line arguments; plus a hypothesis fuzz of the playbook loader with a bounded budget.
The command line runs in process (Typer's CliRunner: the same error boundary as the real
entry point), against one uvicorn-served demo world per module.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.plan import plan_checksum
from tests.harness import PLAYBOOKS, assert_clean, serve_demo

GOOD = """\
version: 1
groups:
  fashion:
    usernames: "fashion_*"
entries:
  - groups: fashion
    reactions:
      settings:
        likes_speed: 2
"""


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, str]]:
    """The environment of a CLI run on a demo world served for this module."""
    with serve_demo() as served:
        yield served.env(SHARINGTOOLS_RETRY_ATTEMPTS="2")


def run(args: list[str], env: dict[str, str] | None = None) -> Any:
    clean = {k: None for k in os.environ if k.startswith("SHARINGTOOLS_")}
    return CliRunner().invoke(app, args, env={**clean, **(env or {})})


# -- playbooks ------------------------------------------------------------------------------
def _bomb() -> str:
    text, prev = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n', "a"
    for i in range(1, 10):
        name = chr(ord("a") + i)
        text += f"{name}: &{name} [" + ",".join(["*" + prev] * 9) + "]\n"
        prev = name
    return text


def _merge_bomb() -> str:
    text = "x0: &x0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n"
    for i in range(1, 12):
        text += f"x{i}: &x{i} [" + ",".join([f"*x{i-1}"] * 8) + "]\n"
    return text


PLAYBOOK_CASES: dict[str, bytes | str] = {
    "alias bomb": _bomb(),
    "merge-key bomb": _merge_bomb(),
    "alias to itself": "a: &a [1, *a]\n",
    "undefined alias": "a: *nope\n",
    "10,000 nested flow lists": "x: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "10,000 nested flow maps": "x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
    "3,000 nested block maps": "".join(" " * i + f"k{i}:\n" for i in range(3000)),
    "larger than 1 MiB": "groups: {}\n" + "# " + "x" * (1024 * 1024) + "\n",
    "not UTF-8": b"\xff\xfe\x00g\x00r\x00o\x00u\x00p\x00s",
    "latin-1": "groups:\n  caf\xe9: {usernames: x}\n".encode("latin-1"),
    "NUL bytes": "version: 1\n\x00\x00groups: {}\n",
    "control characters": "version: 1\ngroups: {g\x07: {usernames: x}}\n",
    "empty": "",
    "only comments": "# nothing\n# here\n",
    "a list": "- a\n- b\n",
    "a scalar": "just text\n",
    "two documents": GOOD + "---\n" + GOOD,
    "tabs": "version: 1\ngroups:\n\tg: {}\n",
    "duplicate keys": "version: 1\nversion: 1\n",
    "unknown top-level key": GOOD + "colour: red\n",
    "python tag": "version: !!python/object:os.system {}\n",
    "binary tag": "version: !!binary aGVsbG8=\n",
    "custom tag": "version: !env HOME\n",
    "complex key": "? [a, b]\n: 1\n",
    "unterminated quote": 'version: "1\n',
    "unclosed flow": "groups: {a: [1, 2\n",
    "huge integer": GOOD.replace("likes_speed: 2", "likes_speed: " + "9" * 5000),
    ".nan value": GOOD.replace("likes_speed: 2", "likes_speed: .nan"),
    ".inf value": GOOD.replace("likes_speed: 2", "likes_speed: .inf"),
    "bad date": GOOD + "x: 2026-13-45\n",
    "inline password": GOOD.replace("    reactions:", "    account:\n      password: hunter2\n    reactions:"),
    "inline API key": GOOD.replace('"fashion_*"', '"sht_' + "a" * 64 + '"'),
    "proxy with credentials": GOOD.replace("likes_speed: 2", "custom_proxy: http://u:pw@1.2.3.4:80"),
    "secret file outside": GOOD.replace("likes_speed: 2", "custom_proxy: {file: /etc/passwd}"),
    "secret file ..": GOOD.replace("likes_speed: 2", "custom_proxy: {file: ../../x}"),
    "secret ref with both": GOOD.replace("likes_speed: 2", "custom_proxy: {env: A, file: b}"),
    "secret ref bad env name": GOOD.replace("likes_speed: 2", "custom_proxy: {env: 'A B'}"),
    "bad setting type": GOOD.replace("likes_speed: 2", "likes_speed: fast"),
    "unknown setting": GOOD.replace("likes_speed: 2", "likes_sped: 2"),
    "bad time": GOOD.replace("likes_speed: 2", "daily_pause_from: '25:99'"),
    "unbalanced spintax": GOOD + "captions:\n  library:\n    T: '{a|b'\n",
    "BOM then garbage": "\ufeff: : :\n",
    "emoji keys": "version: 1\n\U0001f600: 1\n",
    "a 10,000-entry list of nulls": "version: 1\nentries: [" + ",".join(["~"] * 10_000) + "]\n",
}


@pytest.mark.parametrize("name", sorted(PLAYBOOK_CASES))
def test_a_hostile_playbook_is_refused_in_clean_lines(tmp_path: Path, name: str):
    content = PLAYBOOK_CASES[name]
    pb = tmp_path / "pb.yaml"
    pb.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    assert_clean(run(["validate", str(pb)]))


def test_a_playbook_with_one_900_kb_line_is_answered(tmp_path: Path):
    pb = tmp_path / "pb.yaml"
    pb.write_text("version: 1\ngroups: {g: {usernames: '" + "a" * 900_000 + "'}}\nentries: []\n")
    result = run(["validate", str(pb)])
    assert result.exit_code == 0 or assert_clean(result)


@pytest.mark.parametrize("given_path", ["missing.yaml", "empty-dir", "dir.yaml", "loop.yaml", "/dev/null"])
def test_a_playbook_path_that_is_not_a_playbook_is_refused(tmp_path: Path, given_path: str):
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    path = given_path if given_path.startswith("/") else str(tmp_path / given_path)
    assert_clean(run(["validate", path]))


def test_playbooks_given_together_past_the_total_limit_are_refused(tmp_path: Path):
    for i in range(3):
        (tmp_path / f"p{i}.yaml").write_text(GOOD + "#" + "x" * (900 * 1024) + "\n")
    lines = assert_clean(run(["validate", str(tmp_path)]))
    assert any("2 MiB" in line for line in lines)


TOKENS = [*"ab:-[]{},&*!|>'\"#\n \t?%@`~", "groups", "entries", "version", "  ", "\n- ", ": ", "&a ", "*a", "<<: "]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=120).map("".join))
def test_fuzz_the_loader_never_raises_and_only_diagnoses(text: str):
    """Whatever the text, loading it gives a playbook or diagnostics: never another exception."""
    for problem in _validate_text(text):
        assert str(problem).startswith("fuzz.yaml") and "\n" not in str(problem), str(problem)


def _validate_text(text: str) -> list[Any]:
    from orchestrator.playbook.loader import Source
    from orchestrator.playbook.validation import validate_sources

    return validate_sources([Source("fuzz.yaml", text)])


# -- the config file ----------------------------------------------------------------------------
CONFIG_CASES: dict[str, bytes | str | None] = {
    "not UTF-8": b"rate: \xff\xfe\n",
    "a directory": None,
    "invalid YAML": "rate: [1,\n",
    "a list": "- rate\n",
    "an API key in it": "api_key: sht_" + "a" * 64 + "\n",
    "a rate that is text": "rate: fast\n",
    "a negative concurrency": "concurrency: -3\n",
    "an ftp base URL": "base_url: ftp://example.com/api/v1\n",
    "an unknown setting": "colour: red\n",
    "a huge number": "timeout: " + "9" * 400 + "\n",
    "a python tag": "rate: !!python/object:os.system {}\n",
}


@pytest.mark.parametrize("name", sorted(CONFIG_CASES))
def test_a_broken_config_file_ends_in_one_line(tmp_path: Path, world: dict[str, str], name: str):
    config = tmp_path / "orchestrator.yaml"
    content = CONFIG_CASES[name]
    if content is None:
        config.mkdir()
    else:
        config.write_bytes(content if isinstance(content, bytes) else content.encode())
    pb = tmp_path / "pb.yaml"
    pb.write_text(GOOD)
    # Only the key: the environment is stronger than the file, so it must not set what the file breaks.
    env = {"SHARINGTOOLS_API_KEY": world["SHARINGTOOLS_API_KEY"], "SHARINGTOOLS_CONFIG": str(config)}
    result = run(["plan", str(pb)], env=env)
    if name == "an unknown setting" and result.exit_code == 0:
        return  # ignoring an unknown key is an acceptable answer; a traceback is not
    assert len(assert_clean(result)) == 1


def test_a_missing_config_file_named_by_the_environment_ends_in_one_line(tmp_path: Path, world: dict[str, str]):
    pb = tmp_path / "pb.yaml"
    pb.write_text(GOOD)
    missing_config = {**world, "SHARINGTOOLS_CONFIG": str(tmp_path / "no.yaml")}
    assert len(assert_clean(run(["plan", str(pb)], env=missing_config))) == 1


# -- the environment ------------------------------------------------------------------------
ENV_CASES: dict[str, dict[str, str]] = {
    "no API key": {"SHARINGTOOLS_API_KEY": ""},
    "a malformed API key": {"SHARINGTOOLS_API_KEY": "hunter2"},
    "an API key with a newline": {"SHARINGTOOLS_API_KEY": "sht_" + "a" * 64 + "\nX-Evil: 1"},
    "a revoked API key": {"SHARINGTOOLS_API_KEY": "sht_" + "0" * 64},
    "a key file that is missing": {"SHARINGTOOLS_API_KEY": "", "SHARINGTOOLS_API_KEY_FILE": "/nonexistent/key"},
    "a key file that is a directory": {"SHARINGTOOLS_API_KEY": "", "SHARINGTOOLS_API_KEY_FILE": "/"},
    "a rate that is text": {"SHARINGTOOLS_RATE": "fast"},
    "a negative rate": {"SHARINGTOOLS_RATE": "-1"},
    "a zero rate": {"SHARINGTOOLS_RATE": "0"},
    "a NaN rate": {"SHARINGTOOLS_RATE": "nan"},
    "an infinite rate": {"SHARINGTOOLS_RATE": "inf"},
    "a zero concurrency": {"SHARINGTOOLS_CONCURRENCY": "0"},
    "a negative timeout": {"SHARINGTOOLS_TIMEOUT": "-5"},
    "a base URL that is not a URL": {"SHARINGTOOLS_BASE_URL": "not a url"},
    "plain http to a remote host": {"SHARINGTOOLS_BASE_URL": "http://example.com/api/v1"},
    "a port nothing listens on": {"SHARINGTOOLS_BASE_URL": "http://127.0.0.1:9/api/v1"},
    "an empty state db": {"SHARINGTOOLS_STATE_DB": ""},
    "a state db that is a directory": {"SHARINGTOOLS_STATE_DB": "/"},
    "retry attempts that are text": {"SHARINGTOOLS_RETRY_ATTEMPTS": "many"},
}


@pytest.mark.parametrize("name", sorted(ENV_CASES))
def test_a_broken_environment_ends_in_one_line(tmp_path: Path, world: dict[str, str], name: str):
    pb = tmp_path / "pb.yaml"
    pb.write_text(GOOD)
    env = {**world, **ENV_CASES[name]}
    result = run(["apply", str(pb), "--yes", "--state-db", env.get("SHARINGTOOLS_STATE_DB") or ""]
                 if "state db" in name else ["plan", str(pb)], env=env)
    if name in ("an infinite rate",) and result.exit_code == 0:
        return  # "no limit" is a fair reading of inf
    assert len(assert_clean(result)) == 1


# -- saved plans ----------------------------------------------------------------------------
def _saved(tmp_path: Path, world: dict[str, str]) -> tuple[Path, dict[str, Any]]:
    pb = tmp_path / "pb.yaml"
    pb.write_text(GOOD)
    out = tmp_path / "good-plan.json"
    result = run(["plan", str(pb), "--out", str(out)], env=world)
    assert result.exit_code == 0, result.stderr
    return pb, json.loads(out.read_text())


def _resum(data: Any) -> Any:
    if isinstance(data, dict):
        data = dict(data)
        data["checksum"] = plan_checksum(data)
    return data


def _change(data: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return _resum({**data, "changes": [{**data["changes"][0], **fields}, *data["changes"][1:]]})


SAVED_CASES: dict[str, Any] = {
    "truncated": lambda d: json.dumps(d)[: len(json.dumps(d)) // 2],
    "empty file": lambda d: "",
    "a list": lambda d: "[1, 2]",
    "a string": lambda d: '"plan"',
    "a number": lambda d: "42",
    "null": lambda d: "null",
    "NaN": lambda d: json.dumps(d).replace('"format_version": 1', '"format_version": NaN'),
    "not UTF-8": lambda d: b"\xff\xfe{}",
    "edited without a new checksum": lambda d: json.dumps({**d, "changes": d["changes"][1:]}),
    "no checksum": lambda d: json.dumps({k: v for k, v in d.items() if k != "checksum"}),
    "an unknown action": lambda d: json.dumps(_change(d, action="explode")),
    "delete state (no kind does that)": lambda d: json.dumps(_change(d, action="delete", path="state")),
    "an unknown kind": lambda d: json.dumps(_change(d, kind="nuclear")),
    "a missing field": lambda d: json.dumps(_resum({**d, "changes": [
        {k: v for k, v in d["changes"][0].items() if k != "path"}]})),
    "an extra field": lambda d: json.dumps(_change(d, evil=True)),
    "a negative account id": lambda d: json.dumps(_change(d, account_id=-1)),
    "an account id that is text": lambda d: json.dumps(_change(d, account_id="1")),
    "a path with a traversal": lambda d: json.dumps(_change(d, path="settings.../../etc")),
    "another format version": lambda d: json.dumps(_resum({**d, "format_version": 99})),
    "changes that are a dict": lambda d: json.dumps(_resum({**d, "changes": {"a": 1}})),
    "fingerprints that are a list": lambda d: json.dumps(_resum({**d, "read": {"accounts": 1, "fingerprints": []}})),
    "deeply nested": lambda d: "[" * 100_000 + "]" * 100_000,
    "another playbook's plan": lambda d: json.dumps(_resum({**d, "playbook_hash": "sha256:" + "0" * 64})),
}


@pytest.mark.parametrize("name", sorted(SAVED_CASES))
def test_a_tampered_or_broken_saved_plan_is_refused_in_one_line(tmp_path: Path, world: dict[str, str], name: str):
    pb, data = _saved(tmp_path, world)
    content = SAVED_CASES[name](data)
    plan = tmp_path / "plan.json"
    plan.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run(["apply", str(pb), "--plan", str(plan), "--yes", "--state-db", str(tmp_path / "s.db")], env=world)
    assert len(assert_clean(result)) == 1
    assert "applied" not in result.stdout


@pytest.mark.parametrize("given_path", ["missing.json", "a-directory"])
def test_a_saved_plan_path_that_is_not_a_file_is_refused(tmp_path: Path, world: dict[str, str], given_path: str):
    pb, _ = _saved(tmp_path, world)
    (tmp_path / "a-directory").mkdir()
    result = run(["apply", str(pb), "--plan", str(tmp_path / given_path), "--yes"], env=world)
    assert len(assert_clean(result)) == 1


# -- state files ----------------------------------------------------------------------------
def _state(tmp_path: Path, name: str) -> str:
    path = tmp_path / "state.db"
    if name == "garbage":
        path.write_bytes(os.urandom(4096))
    elif name == "text":
        path.write_text("this is not a database\n" * 100)
    elif name == "a directory":
        path.mkdir()
    elif name == "inside a file":
        (tmp_path / "file").write_text("x")
        return str(tmp_path / "file" / "state.db")
    elif name == "a database with other tables":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE runs (x TEXT)")
    elif name == "a truncated database":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (x)")
            db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
        path.write_bytes(path.read_bytes()[:3000])
    return str(path)


@pytest.mark.parametrize("name", ["garbage", "text", "a directory", "inside a file", "a database with other tables",
                                  "a truncated database"])
@pytest.mark.parametrize("command", ["apply", "history"])
def test_a_broken_state_database_ends_in_one_line(tmp_path: Path, world: dict[str, str], name: str, command: str):
    pb = tmp_path / "pb.yaml"
    pb.write_text(GOOD)
    state = _state(tmp_path, name)
    args = ["apply", str(pb), "--yes", "--state-db", state] if command == "apply" else ["history", "--state-db", state]
    assert len(assert_clean(run(args, env=world))) == 1


# -- command-line arguments ---------------------------------------------------------------------
ARG_CASES: list[list[str]] = [
    ["--policy", "foo=bar"], ["--policy", "max_pauses=abc"], ["--policy", "max_pauses=-1"], ["--policy", "="],
    ["--policy", "max_pauses"], ["--policy", "max_pauses=200%"], ["--allow", "nonsense"], ["--allow", "pause:"],
    ["--allow", ":fashion"], ["--allow", "explode:fashion"], ["--waves", "abc"], ["--waves", "-1"],
    ["--waves", "10%,,x"], ["--max-fail", "abc"], ["--max-fail", "-5%"], ["--concurrency", "0"], ["--rate", "-1"],
    ["--concurrency", "abc"], ["--report", "/nonexistent/dir/report.json"], ["--report", "/"],
    ["--resume"],  # nothing to resume
]


@pytest.mark.parametrize("extra", ARG_CASES, ids=lambda a: " ".join(a))
def test_a_bad_apply_argument_ends_in_one_line(tmp_path: Path, world: dict[str, str], extra: list[str]):
    result = run(["apply", str(PLAYBOOKS), "--yes", "--state-db", str(tmp_path / "s.db"), *extra], env=world)
    assert_clean(result, codes=(1, 2))
    assert "applied" not in result.stdout


EARLY_CASES: list[list[str]] = [
    ["apply", "--policy", "foo=bar"], ["apply", "--policy", "max_pauses=200%"], ["apply", "--allow", "nonsense"],
    ["apply", "--allow", "explode:fashion"], ["apply", "--resume"],
    ["reconcile", "--once", "--policy", "max_pauses=abc"], ["reconcile", "--once", "--allow", "pause:"],
]


@pytest.mark.parametrize("args", EARLY_CASES, ids=lambda a: " ".join(a))
def test_a_bad_policy_allow_or_resume_is_told_before_any_request_or_progress_line(tmp_path: Path, args: list[str]):
    """Against a server that is not there (every request would be retried for two minutes): the
    flag's error comes alone, at once, with nothing printed before it."""
    import socket

    with socket.socket() as probe:  # a free port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"SHARINGTOOLS_BASE_URL": f"http://127.0.0.1:{port}/api/v1", "SHARINGTOOLS_API_KEY": "sht_" + "a" * 64}
    command, *flags = args
    result = run([command, str(PLAYBOOKS), *(["--yes"] if command == "apply" else []), "--state-db",
                  str(tmp_path / "s.db"), *flags], env=env)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr  # no progress line before it
    assert ("--policy" in lines[0] or "--allow" in lines[0] or "nothing to resume" in lines[0]
            or "no unfinished apply" in lines[0]), lines[0]
    assert result.stdout == ""


PLAN_AND_API_CASES: list[list[str]] = [
    ["plan", str(PLAYBOOKS), "--format", "xml"],
    ["plan", str(PLAYBOOKS), "--out", "/nonexistent/dir/plan.json"],
    ["plan", str(PLAYBOOKS), "--out", "/"],
    ["api", "EXPLODE", "accounts"],
    ["api", "POST", "accounts", "--data", "{not json"],
    ["api", "GET", "accounts", "--param", "novalue"],
    ["api", "POST", "accounts", "--paginate"],
    ["api", "GET", "../../_emulator/reset"],
    ["api", "GET", "no/such/endpoint"],
    ["history", "--limit", "abc"],
]


@pytest.mark.parametrize("args", PLAN_AND_API_CASES, ids=lambda a: " ".join(a[:3]))
def test_a_bad_argument_to_plan_api_or_history_ends_in_one_line(world: dict[str, str], args: list[str]):
    assert_clean(run(args, env=world), codes=(1, 2))
