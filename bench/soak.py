"""Soak: the reconcile loop for 20 minutes against an emulator that fails 5% of requests,
while someone keeps changing settings in the web panel. What must hold at the end:

- the loop is still running, its resident memory did not keep growing (middle vs last third);
- every cycle ended (no cycle hung; ``/healthz`` answers 200 throughout when metrics are on);
- after the faults stop, one ``apply`` converges (the loop itself backs off from accounts that
  failed): ``plan --detailed-exitcode`` is then 0;
- nothing was made twice (captions, first-comment schedules, targets);
- SIGTERM ends the loop promptly with exit 143 (or 0).

    .venv/bin/python bench/soak.py                    # 20 minutes
    .venv/bin/python bench/soak.py --minutes 2        # a short run

It drives the command line only (``orchestrator reconcile PLAYBOOK --every 30s``, as issue 8
specifies) and exits 2 when this build has no ``reconcile`` command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._servers import free_port, process  # noqa: E402

FAULTS = {"seed": 7, "error_rate": 0.03, "error_statuses": {"429": 1, "500": 1, "503": 1}, "retry_after": 1,
          "drop_rate": 0.01, "lost_response_rate": 0.01}  # 5% of requests in all


def orchestrator(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def duplicates(base: str) -> dict[str, int]:
    captions = httpx.get(f"{base}/_emulator/state/captions", timeout=60).json()["items"]
    comments = httpx.get(f"{base}/_emulator/state/first_comment_schedules", timeout=60).json()["items"]
    schedules = httpx.get(f"{base}/_emulator/state/reactions_schedules", timeout=60).json()["items"]
    found = Counter()
    found["captions"] = sum(n - 1 for n in Counter((c["user_id"], c["title"]) for c in captions).values())
    found["first_comment"] = sum(n - 1 for n in Counter(
        (s["account_id"], frozenset(t["username"] for t in s["targets"])) for s in comments).values())
    found["targets"] = sum(n - 1 for s in schedules
                           for n in Counter((t["type"], t["value"]) for t in s["targets"]).values())
    return dict(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--every", default="30s", help="the reconcile interval")
    parser.add_argument("--playbooks", default=str(ROOT / "playbooks"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    keys = work / "keys.json"
    serve = [sys.executable, "-m", "orchestrator", "emulator", "serve", "--port", str(port),
             "--db", str(work / "world.db"),
             "--seed", "demo", "--keys-file", str(keys)]
    with process(serve, ready_url=f"{base}/_emulator/health"):
        key = json.loads(keys.read_text())["alice"]
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("SHARINGTOOLS_")},
               "SHARINGTOOLS_BASE_URL": f"{base}/api/v1", "SHARINGTOOLS_API_KEY": key,
               "SHARINGTOOLS_STATE_DB": str(work / "state.db"), "PYTHONPATH": str(ROOT)}
        if orchestrator("reconcile", "--help", env=env).returncode != 0:
            print("this build has no `orchestrator reconcile` command (issue 8): nothing to soak")
            return 2
        httpx.put(f"{base}/_emulator/faults", json=FAULTS, timeout=60).raise_for_status()
        log = (work / "reconcile.log").open("w")
        loop = subprocess.Popen([sys.executable, "-m", "orchestrator", "reconcile", args.playbooks,
                                 "--every", args.every],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        rss: list[float] = []
        drifts = 0
        rng = random.Random(1)
        panel = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {key}"})
        try:
            deadline = time.monotonic() + args.minutes * 60
            while time.monotonic() < deadline:
                if loop.poll() is not None:
                    print(f"the reconcile loop exited early ({loop.returncode}); see {log.name}")
                    return 1
                rss.append(psutil.Process(loop.pid).memory_info().rss / 2**20)
                account = rng.randint(1, 25)  # someone changes a setting in the web panel
                try:
                    panel.patch(f"/reactions/schedules/{account}/settings", json={"likes_speed": rng.randint(1, 5)})
                    drifts += 1
                except httpx.HTTPError:
                    pass
                time.sleep(10)
        finally:
            panel.close()
            started = time.monotonic()
            loop.send_signal(signal.SIGTERM)
            try:
                code = loop.wait(timeout=30)
            except subprocess.TimeoutExpired:
                loop.kill()
                code = None
            stop_seconds = time.monotonic() - started
            log.close()
        httpx.delete(f"{base}/_emulator/faults", timeout=60).raise_for_status()  # the server may be busy
        # The loop's own cycles back off from accounts that failed under the faults; a plain apply
        # is not subject to that back-off, so it shows that the fleet converges now.
        final = orchestrator("apply", args.playbooks, "--yes", env=env)
        plan = orchestrator("plan", args.playbooks, "--detailed-exitcode", env=env)
        dupes = duplicates(base)
        # The first third is the warm-up (imports, the first cycles); growth is the last third
        # against the middle one.
        third = max(1, len(rss) // 3)
        middle = rss[third:2 * third] or rss
        first, last = sum(middle) / len(middle), sum(rss[-third:]) / third
        print(f"minutes: {args.minutes}, drifts made: {drifts}, SIGTERM -> exit {code} in {stop_seconds:.1f} s")
        print(f"reconcile RSS: middle third {first:.0f} MB, last third {last:.0f} MB, "
              f"peak {max(rss, default=0):.0f} MB")
        print(f"after the faults: apply exit {final.returncode}, plan --detailed-exitcode {plan.returncode}")
        print(f"duplicates: {dupes}")
        ok = (code in (0, 143) and stop_seconds < 15 and plan.returncode == 0 and not any(dupes.values())
              and last < first * 1.25 + 20)
        if final.returncode != 0 or plan.returncode != 0:
            print("apply said:\n" + (final.stdout + final.stderr)[-2500:])
        print("soak:", "ok" if ok else "FAILED")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
