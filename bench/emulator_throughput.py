"""Emulator throughput: requests per second for an authenticated GET and a settings PATCH,
served by uvicorn on one core, load from wrk on the other core, each run bounded in time.

Side by side in one run: the emulator and a bare Starlette baseline (bench/baseline_app.py).

    python bench/emulator_throughput.py [--seconds 10] [--connections 32]

Needs wrk (Debian package ``wrk``; the script says how to install it when missing).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import free_port, pinned, process, python  # noqa: E402

PATCH_LUA = """
wrk.method = "PATCH"
wrk.body = '{"likes_speed": 3}'
wrk.headers["Content-Type"] = "application/json"
"""


def wrk(url: str, key: str | None, seconds: int, connections: int, script: str | None = None) -> float:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if key:
        cmd += ["-H", f"Authorization: Bearer {key}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(pinned(cmd + [url], 1), capture_output=True, text=True, timeout=seconds + 30).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} error answers from {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "patch.lua"
        lua.write_text(PATCH_LUA)
        keys_file = Path(tmp) / "keys.json"
        port = free_port()
        serve = [python(), "-m", "orchestrator", "emulator", "serve", "--port", str(port), "--seed", "demo",
                 "--keys-file", str(keys_file), "--frozen-clock"]
        base = f"http://127.0.0.1:{port}"
        with process(pinned(serve, 0), ready_url=f"{base}/_emulator/health"):
            key = json.loads(keys_file.read_text())["alice"]
            results["emulator"] = {
                "GET /accounts/{id}": wrk(f"{base}/api/v1/accounts/1", key, args.seconds, args.connections),
                "PATCH /reactions/schedules/{id}/settings": wrk(
                    f"{base}/api/v1/reactions/schedules/1/settings", key, args.seconds, args.connections, str(lua)),
            }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        baseline = [python(), "-m", "uvicorn", "baseline_app:app", "--app-dir", "bench", "--port", str(port),
                    "--log-level", "warning", "--no-access-log"]
        with process(pinned(baseline, 0), ready_url=f"{base}/api/v1/accounts/1"):
            results["bare Starlette baseline"] = {
                "GET /accounts/{id}": wrk(f"{base}/api/v1/accounts/1", None, args.seconds, args.connections),
                "PATCH /reactions/schedules/{id}/settings": wrk(
                    f"{base}/api/v1/reactions/schedules/1/settings", None, args.seconds, args.connections, str(lua)),
            }
    print("| server (uvicorn, 1 core) | GET /accounts/{id} req/s | PATCH settings req/s |")
    print("|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['GET /accounts/{id}']:.0f} | {r['PATCH /reactions/schedules/{id}/settings']:.0f} |")


if __name__ == "__main__":
    main()
