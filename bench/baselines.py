"""What a user would do without the orchestrator, for the same change on a few accounts.

- ``sequential``: a script as one would write it with httpx, one call at a time: per account,
  read the Reactions Pro schedule, activate it if needed, read its settings, patch them if
  needed, add the target if missing, read the Repost Pro schedule and pause it if needed.
  A 429 is waited out for its Retry-After.
- ``ansible``: the same steps as an Ansible playbook of ``uri`` tasks, one inventory host per
  account (connection local), run by ansible-core from its own virtualenv.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from _servers import pinned

HEADERS = {"Accept": "application/json"}


def sequential(api: str, key: str, ids: list[int]) -> tuple[float, int]:
    """Run the script on ``ids``; return (seconds, requests sent)."""
    sent = 0
    started = time.perf_counter()
    with httpx.Client(base_url=api + "/", headers={**HEADERS, "Authorization": f"Bearer {key}"}, timeout=60) as c:

        def call(method: str, path: str, body: dict | None = None) -> dict:
            nonlocal sent
            for _ in range(20):  # bounded: a 429 is retried after its Retry-After, 20 times at most
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
    return time.perf_counter() - started, sent


ANSIBLE_PLAYBOOK = """
- hosts: accounts
  gather_facts: false
  connection: local
  vars:
    api: "{{ lookup('env', 'BENCH_API') }}"
    auth: {Authorization: "Bearer {{ lookup('env', 'BENCH_KEY') }}", Accept: application/json}
  tasks:
    - name: read the Reactions Pro schedule
      uri: {url: "{{ api }}/reactions/schedules/{{ account_id }}", headers: "{{ auth }}", status_code: [200, 429]}
      register: schedule
      until: schedule.status != 429
      retries: 20
      delay: 1
    - name: activate it
      when: not schedule.json.data.is_active
      uri:
        url: "{{ api }}/reactions/schedules/{{ account_id }}/activate"
        method: POST
        headers: "{{ auth }}"
        status_code: [200, 429]
      register: r
      until: r.status != 429
      retries: 20
      delay: 1
    - name: read its settings
      uri:
        url: "{{ api }}/reactions/schedules/{{ account_id }}/settings"
        headers: "{{ auth }}"
        status_code: [200, 429]
      register: settings
      until: settings.status != 429
      retries: 20
      delay: 1
    - name: set likes_speed
      when: settings.json.data.settings.likes_speed | default(none) != 4
      uri:
        url: "{{ api }}/reactions/schedules/{{ account_id }}/settings"
        method: PATCH
        headers: "{{ auth }}"
        body_format: json
        body: {likes_speed: 4}
        status_code: [200, 429]
      register: r
      until: r.status != 429
      retries: 20
      delay: 1
    - name: add the target
      when: schedule.json.data.targets | selectattr('value', 'equalto', 'benchmark') | list | length == 0
      uri:
        url: "{{ api }}/reactions/schedules/{{ account_id }}/targets"
        method: POST
        headers: "{{ auth }}"
        body_format: json
        body: {type: hashtag, value: benchmark}
        status_code: [200, 201, 429]
      register: r
      until: r.status != 429
      retries: 20
      delay: 1
    - name: read the Repost Pro schedule
      uri: {url: "{{ api }}/repost/schedules/{{ account_id }}", headers: "{{ auth }}", status_code: [200, 429]}
      register: repost
      until: repost.status != 429
      retries: 20
      delay: 1
    - name: pause it
      when: repost.json.data.is_active
      uri:
        url: "{{ api }}/repost/schedules/{{ account_id }}/pause"
        method: POST
        headers: "{{ auth }}"
        status_code: [200, 429]
      register: r
      until: r.status != 429
      retries: 20
      delay: 1
"""


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
    started = time.perf_counter()
    proc = subprocess.run(pinned([str(playbook), "-i", str(tmp / "inventory.ini"), str(tmp / "site.yml")], 1),
                          env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        print(f"  [ansible] exit {proc.returncode}: {proc.stdout[-1500:]}", flush=True)
        return None
    return seconds
