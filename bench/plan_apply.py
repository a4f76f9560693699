"""Plan and apply held to the server's limit, side by side with what a user would do instead.

An emulator with N scale accounts sits behind ``rate_proxy.py`` (R requests per second, 429
beyond, 50 ms ± 10 ms per request). The orchestrator's CLI (``SHARINGTOOLS_CONCURRENCY=64``)
plans and applies ``_world.PLAYBOOK`` (Reactions Pro state, a setting and a target; Repost Pro
state on every account), once told the server's rate R and once told 5 × R (it must find the
limit). In the same run: the lower bound (minimal requests / R), a sequential httpx script and
an Ansible playbook (``uri`` tasks) making the same change on a small subset, compared per account.

    python bench/plan_apply.py [--accounts 2000] [--rate 300] [--subset 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import ROOT  # noqa: E402
from _world import minimal_apply_requests, minimal_plan_requests, startup_cpu, table, world  # noqa: E402
from baselines import ansible, sequential  # noqa: E402


def baselines(k: int, rate: float, tmp: Path, net: dict, venv: Path, timeout: float) -> dict[str, float]:
    """Seconds per account of the sequential script (accounts 1..k) and of Ansible (k+1..2k)."""
    out: dict[str, float] = {}
    with world(2 * k, rate=rate, tmp=tmp, **net) as w:
        seconds, sent = sequential(w.api, w.key, list(range(1, k + 1)))
        out["sequential httpx script"] = seconds / k
        print(f"  sequential script: {k} accounts, {sent} requests, {seconds:.1f} s", flush=True)
        a = ansible(w.api, w.key, list(range(k + 1, 2 * k + 1)), venv, w.tmp, timeout=timeout)
        if a is not None:
            out["Ansible (uri, 5 forks)"] = a / k
            print(f"  ansible: {k} accounts, {a:.1f} s", flush=True)
        else:
            print(f"  ansible: not run (no ansible-playbook in {venv}, or it failed)", flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--jitter-ms", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--subset", type=int, default=40, help="accounts for the sequential script and for Ansible")
    parser.add_argument("--ansible-venv", type=Path, default=ROOT / ".bench-venv")
    parser.add_argument("--source", type=Path, default=None, help="run another checkout's orchestrator (before/after)")
    parser.add_argument("--no-overshoot", action="store_true", help="skip the runs told 5 x R")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed to each CLI run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    n, rate = args.accounts, args.rate
    minimal_plan = minimal_plan_requests(n)
    rows: list[dict] = []
    told = [("R", rate)] + ([] if args.no_overshoot else [("5R", 5 * rate)])
    net = {"latency_ms": args.latency_ms, "jitter_ms": args.jitter_ms}
    startup = startup_cpu(args.source)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name:
        tmp = Path(tmp_name)
        per_account: dict[str, float] = {}
        for i, (label, client_rate) in enumerate(told):
            # a fresh world per apply: each one makes the whole change
            with world(n, rate=rate, tmp=tmp / f"w{i}", **net) as w:
                pb = str(w.tmp / "scale.yaml")
                kw = {"rate": client_rate, "concurrency": args.concurrency, "timeout": args.timeout,
                      "source": args.source}
                plan = w.cli(f"plan, told {label}", ["plan", pb, "--format", "json"], **kw)
                rows.append(plan.row(minimal_plan, rate, startup))
                run = w.cli(f"apply incl. verify, told {label}", ["apply", pb, "--yes"], **kw)
                rows.append(run.row(minimal_apply_requests(n, run.writes), rate, startup))
                per_account[f"orchestrator apply, told {label}"] = run.seconds / n
                print(f"  {plan.name}: {plan.seconds:.1f} s; {run.name}: {run.seconds:.1f} s", flush=True)
        k = args.subset
        if k:
            per_account.update(baselines(k, rate, tmp / "baselines", net, args.ansible_venv, args.timeout))
    result = {"accounts": n, "rate": rate, "subset": k, **net, "concurrency": args.concurrency,
              "startup_cpu_s": startup, "rows": rows, "seconds_per_account": per_account}
    print(f"\n{n} accounts, server limit R = {rate:g} req/s, {args.latency_ms:g} ± {args.jitter_ms:g} ms per request; "
          f"start-up CPU {startup:.2f} s\n")
    print(table(rows))
    best = min(v for key, v in per_account.items() if key.startswith("orchestrator"))
    print("\n| per account | seconds | orchestrator is faster by |\n|---|---|---|")
    for name, seconds in per_account.items():
        print(f"| {name} | {seconds:.4f} | {seconds / best:.1f}x |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
