"""Whether two checkouts make byte-identical plans (``plan --format json``), on the demo world
with the example playbooks and on a seeded world of N scale accounts with ``_world.PLAYBOOK``.

Each world is started once and planned by both checkouts in turn (a plan never writes), with
the playbooks at the same path, so only the code differs. Exit 0 when every pair is identical.

    git archive BASE | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    python bench/plan_identical.py --before /tmp/before [--accounts 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import ROOT, free_port, process, python  # noqa: E402
from _world import world  # noqa: E402


AT = "2026-12-07T12:00:00Z"


def plan_json(source: Path, api: str, key: str, playbooks: str, cwd: Path) -> bytes:
    """The plan's JSON as ``source``'s code prints it."""
    env = {**os.environ, "PYTHONPATH": str(source), "SHARINGTOOLS_BASE_URL": api, "SHARINGTOOLS_API_KEY": key,
           "SHARINGTOOLS_RATE": "100000", "SHARINGTOOLS_CONCURRENCY": "64"}
    env.pop("SHARINGTOOLS_STATE_DB", None)
    # one instant for both: the demo playbooks have entry windows, evaluated "now" by default
    cmd = [python(), "-m", "orchestrator", "plan", playbooks, "--format", "json", "--at", AT]
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=1800)
    if done.returncode not in (0, 2):
        raise RuntimeError(f"plan by {source} exited {done.returncode}: {done.stderr.decode()[-800:]}")
    return done.stdout


def compare(name: str, before: Path, after: Path, api: str, key: str, playbooks: str, cwd: Path) -> bool:
    a, b = (plan_json(src, api, key, playbooks, cwd) for src in (before, after))
    changes = len(json.loads(b)["changes"])
    same = a == b
    print(f"{name}: {'identical' if same else 'DIFFERENT'} ({len(b):,} bytes, {changes:,} changes)", flush=True)
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout (its root)")
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--accounts", type=int, default=20000)
    args = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-identical-") as tmp_name:
        tmp = Path(tmp_name)
        shutil.copytree(ROOT / "playbooks", tmp / "playbooks")
        port = free_port()
        serve = [python(), "-m", "orchestrator", "emulator", "serve", "--port", str(port), "--seed", "demo",
                 "--keys-file", str(tmp / "keys.json"), "--frozen-clock"]
        with process(serve, ready_url=f"http://127.0.0.1:{port}/_emulator/health", timeout=60):
            key = json.loads((tmp / "keys.json").read_text())["alice"]
            ok &= compare("demo world, playbooks/", args.before, args.after, f"http://127.0.0.1:{port}/api/v1", key,
                          "playbooks", tmp)
        with world(args.accounts, rate=0, latency_ms=0, jitter_ms=0, tmp=tmp / "seeded") as w:
            ok &= compare(f"seeded world, {args.accounts:,} accounts", args.before, args.after, w.api, w.key,
                          "scale.yaml", w.tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
