"""What a user would do without the orchestrator, for the same change on a few accounts.

- ``sequential``: a script as one would write it with httpx, one call at a time: per account,
  read the Reactions Pro schedule, activate it if needed, read its settings, patch them if
  needed, add the target if missing, read the Repost Pro schedule and pause it if needed.
  A 429 is waited out for its Retry-After.
- ``ansible``: the same steps as an Ansible playbook of ``uri`` tasks, one inventory host per
  account (connection local), run by ansible-core from its own virtualenv.
"""

from __future__ import annotations

import io
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from ruamel.yaml import YAML

from _servers import pinned

HEADERS = {"Accept": "application/json"}
#: How many times a 429 is waited out before a call gives up, by the script and by Ansible alike.
RETRIES = 20
T = TypeVar("T")


def timed(run: Callable[[], T]) -> tuple[float, T]:
    """``run()``, and the seconds it took (wall clock: what a user waits)."""
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def sequential(api: str, key: str, ids: list[int]) -> tuple[float, int]:
    """Run the script on ``ids``; return (seconds, requests sent)."""
    with httpx.Client(base_url=api + "/", headers={**HEADERS, "Authorization": f"Bearer {key}"}, timeout=60) as c:
        return timed(lambda: _script(c, ids))


def _script(c: httpx.Client, ids: list[int]) -> int:
    """The change on ``ids``, one call at a time; the requests it sent."""
    sent = 0

    def call(method: str, path: str, body: dict | None = None) -> dict:
        nonlocal sent
        for _ in range(RETRIES):  # bounded: a 429 is retried after its Retry-After
            r = c.request(method, path, json=body)
            sent += 1
            if r.status_code != 429:
                r.raise_for_status()
                return r.json().get("data") or {}
            time.sleep(float(r.headers.get("retry-after", 1)))
        raise RuntimeError(f"{method} {path}: still throttled")

    for account in ids:
        schedule = call("GET", f"reactions/schedules/{account}")
        if not schedule.get("is_active"):
            call("POST", f"reactions/schedules/{account}/activate")
        settings = call("GET", f"reactions/schedules/{account}/settings").get("settings", {})
        if settings.get("likes_speed") != 4:
            call("PATCH", f"reactions/schedules/{account}/settings", {"likes_speed": 4})
        if not any(
            t.get("type") == "hashtag" and t.get("value") == "benchmark" for t in schedule.get("targets", [])
        ):
            call("POST", f"reactions/schedules/{account}/targets", {"type": "hashtag", "value": "benchmark"})
        if call("GET", f"repost/schedules/{account}").get("is_active"):
            call("POST", f"repost/schedules/{account}/pause")
    return sent


def _uri(name: str, path: str, register: str = "r", *, method: str = "GET", when: str | None = None,
         body: dict[str, Any] | None = None, statuses: tuple[int, ...] = (200,)) -> dict[str, Any]:
    """An Ansible ``uri`` task on ``{{ api }}/path`` that waits out a 429 as the script does:
    ``RETRIES`` times, a second apart. Its answer is registered as ``register``."""
    uri: dict[str, Any] = {"url": "{{ api }}/" + path}
    if method != "GET":
        uri["method"] = method
    uri["headers"] = "{{ auth }}"
    if body is not None:
        uri |= {"body_format": "json", "body": body}
    uri["status_code"] = [*statuses, 429]
    task: dict[str, Any] = {"name": name} | ({"when": when} if when else {})
    return task | {"uri": uri, "register": register, "until": f"{register}.status != 429", "retries": RETRIES,
                   "delay": 1}


def _ansible_playbook() -> str:
    """The script's steps as an Ansible playbook, one inventory host per account."""
    schedule, settings = "reactions/schedules/{{ account_id }}", "reactions/schedules/{{ account_id }}/settings"
    play = {
        "hosts": "accounts",
        "gather_facts": False,
        "connection": "local",
        "vars": {"api": "{{ lookup('env', 'BENCH_API') }}",
                 "auth": {"Authorization": "Bearer {{ lookup('env', 'BENCH_KEY') }}", "Accept": "application/json"}},
        "tasks": [
            _uri("read the Reactions Pro schedule", schedule, "schedule"),
            _uri("activate it", schedule + "/activate", method="POST", when="not schedule.json.data.is_active"),
            _uri("read its settings", settings, "settings"),
            _uri("set likes_speed", settings, method="PATCH", body={"likes_speed": 4},
                 when="settings.json.data.settings.likes_speed | default(none) != 4"),
            _uri("add the target", schedule + "/targets", method="POST", body={"type": "hashtag", "value": "benchmark"},
                 statuses=(200, 201),
                 when="schedule.json.data.targets | selectattr('value', 'equalto', 'benchmark') | list | length == 0"),
            _uri("read the Repost Pro schedule", "repost/schedules/{{ account_id }}", "repost"),
            _uri("pause it", "repost/schedules/{{ account_id }}/pause", method="POST",
                 when="repost.json.data.is_active"),
        ],
    }
    out = io.StringIO()
    yaml = YAML()
    yaml.width = 4096  # the Jinja expressions stay on one line
    yaml.dump([play], out)
    return out.getvalue()


ANSIBLE_PLAYBOOK = _ansible_playbook()


def ansible(
    api: str, key: str, ids: list[int], venv: Path, tmp: Path, *, forks: int = 5, timeout: float = 900
) -> float | None:
    """Run the Ansible playbook on ``ids`` (default forks, 5); return seconds, or None when
    ansible-core is not installed in ``venv`` or the run failed."""
    playbook = venv / "bin" / "ansible-playbook"
    if not playbook.exists():
        return None
    (tmp / "inventory.ini").write_text("[accounts]\n" + "".join(f"acct{i} account_id={i}\n" for i in ids))
    (tmp / "site.yml").write_text(ANSIBLE_PLAYBOOK)
    env = {**os.environ, "BENCH_API": api, "BENCH_KEY": key, "ANSIBLE_HOST_KEY_CHECKING": "False",
           "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_PYTHON_INTERPRETER": str(venv / "bin" / "python"),
           "ANSIBLE_FORKS": str(forks), "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
           "ANSIBLE_HOME": str(tmp / "ansible-home")}
    seconds, proc = timed(lambda: subprocess.run(
        pinned([str(playbook), "-i", str(tmp / "inventory.ini"), str(tmp / "site.yml")], 1),
        env=env, capture_output=True, text=True, timeout=timeout))
    if proc.returncode != 0:
        print(f"  [ansible] exit {proc.returncode}: {proc.stdout[-1500:]}", flush=True)
        return None
    return seconds
