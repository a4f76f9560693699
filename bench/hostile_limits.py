"""Peak memory and time of the command line on the worst inputs we know, each in its own
process (psutil samples its resident set every 10 ms). The bound of issue 10: no input makes
the CLI use more than 500 MB or run longer than 30 s before it answers.

    .venv/bin/python bench/hostile_limits.py            # prints a Markdown table; exit 1 past a bound

Inputs: an alias bomb, a merge-key bomb, 10,000 nested lists, a playbook just under the 1 MiB
limit (about 25,000 lines of captions), one 50 MB playbook (refused by size), saved plans
just under their 8 MiB limit (refused: no checksum), and a deeply nested one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.reliability.test_hostile_inputs import GOOD, _bomb, _merge_bomb  # noqa: E402

LIMIT_MB, LIMIT_S = 500, 30


def under_limit_playbook() -> str:
    lines = ["version: 1", "groups: {g: {usernames: '*'}}", "entries: []", "captions:", "  library:"]
    i = 0
    while sum(len(line) + 1 for line in lines) < 1024 * 1024 - 200:
        lines.append(f"    Caption number {i}: \"caption {i} lorem ipsum dolor sit amet\"")
        i += 1
    return "\n".join(lines) + "\n"


def measure(args: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """(peak RSS in MB, seconds, exit code, last stderr line) of ``orchestrator ARGS``."""
    started = time.monotonic()
    # A key of the right shape and a port nothing listens on: a saved plan is read before any request.
    env = {**os.environ, "SHARINGTOOLS_API_KEY": "sht_" + "a" * 64, "SHARINGTOOLS_BASE_URL": "http://127.0.0.1:9/api/v1",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    watched = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            break
        if time.monotonic() - started > 120:
            proc.kill()
        time.sleep(0.01)
    _, err = proc.communicate()
    last = (err.strip().splitlines() or [""])[-1]
    return peak / 2**20, time.monotonic() - started, proc.returncode, last[:90]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="hostile-limits-"))
    cases: dict[str, list[str]] = {}

    def playbook_case(name: str, text: str | bytes) -> None:
        path = work / f"{len(cases)}.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        cases[name] = ["validate", str(path)]

    playbook_case("alias bomb (10^9 values)", _bomb())
    playbook_case("merge-key bomb", _merge_bomb())
    playbook_case("10,000 nested lists", "x: " + "[" * 10_000 + "]" * 10_000 + "\n")
    playbook_case("just under 1 MiB of captions", under_limit_playbook())
    playbook_case("50 MB playbook", GOOD + ("# " + "x" * 98 + "\n") * 500_000)
    deep = work / "deep-plan.json"
    deep.write_text("[" * 1_000_000 + "]" * 1_000_000)
    big = work / "big-plan.json"
    big.write_text(json.dumps({"format_version": 1, "changes": [{"x": "y" * 1000}] * 8_000}))
    objects = work / "objects-plan.json"  # the most Python objects per byte JSON allows, just under the limit
    objects.write_text("[" + ",".join(["{}"] * (8 * 1024 * 1024 // 3 - 10)) + "]")
    (work / "pb.yaml").write_text(GOOD)
    for name, plan in (("saved plan nested 10^6 deep", deep), ("saved plan of 8 MB", big),
                       ("saved plan of 2.8 million empty objects (8 MiB)", objects)):
        cases[name] = ["apply", str(work / "pb.yaml"), "--plan", str(plan), "--yes", "--state-db", str(work / "s.db")]
    print("| input | peak RSS (MB) | seconds | exit | answer |\n|---|---|---|---|---|")
    worst_mb = worst_s = 0.0
    for name, args in cases.items():
        mb, seconds, code, last = measure(args, work)
        worst_mb, worst_s = max(worst_mb, mb), max(worst_s, seconds)
        print(f"| {name} | {mb:.0f} | {seconds:.1f} | {code} | `{last}` |")
    print(f"\nworst: {worst_mb:.0f} MB, {worst_s:.1f} s (bounds {LIMIT_MB} MB, {LIMIT_S} s)")
    return 0 if worst_mb < LIMIT_MB and worst_s < LIMIT_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
