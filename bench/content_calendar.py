"""A content calendar on 1,000 accounts, held to the server's limit: every copy made, changed
and taken back through the CLI, each media file uploaded once.

An emulator with N scale accounts sits behind ``rate_proxy.py`` (R requests per second, 429
beyond, 50 ms ± 10 ms per request), as in ``plan_apply.py``. The playbook lists P posts for
every account (staggered over a few hours, one photo, one album of two files, one reel: three
files in all), and the CLI runs, each measured (time, requests, CPU, peak RSS):

1. ``plan``: N x P creates;
2. ``apply``: the uploads (one per file, whatever N), the creates, the verify;
3. ``plan`` again: no changes;
4. ``apply`` of a caption changed on one post: N updates, in place;
5. ``plan`` with the state database deleted: still no changes (the marks say which post is
   which, the upload names which file is which);
6. ``apply`` of ``posts: []``: N x P deletions.

Then, side by side on a subset of the accounts, what one would write instead: a sequential
httpx script that, per account and post, uploads the post's files and creates it (a 429 waited
out for its Retry-After), compared per account.

    python bench/content_calendar.py [--accounts 1000] [--rate 300] [--subset 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import ROOT  # noqa: E402
from _world import startup_cpu, table, world  # noqa: E402
from baselines import HEADERS, RETRIES, timed  # noqa: E402

JPEG = (ROOT / "playbooks" / "media" / "winter-teaser.jpg").read_bytes()
# The emulator measures an upload and keeps its name; a reel needs an mp4: its first box is enough.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 4096

POSTS = """
      - name: winter-teaser
        type: photo
        media: [media/teaser.jpg]
        caption: "{CAPTION}"
        at: 2030-12-10T18:00
        timezone: Europe/Paris
        stagger: 4h
      - name: winter-lookbook
        type: album
        media: [media/teaser.jpg, media/look-2.jpg]
        caption: "Swipe through the winter lookbook ➡️ #winterdrop"
        at: 2030-12-11T12:00
        timezone: Europe/Paris
        stagger: 4h
      - name: winter-reel
        type: reel
        media: [media/reel.mp4]
        caption: "Behind the scenes of the winter shoot 🎬 #bts"
        at: 2030-12-12T19:00
        timezone: Europe/Paris
        stagger: 4h
"""
PLAYBOOK = """
version: 1
groups:
  scale:
    usernames: "*_s*"
policy:
  max_deletions: {DELETIONS}    # a count of items: the whole calendar goes in the last step
entries:
  - name: the winter calendar on every scale account
    groups: scale
    posts:{POSTS}"""
FIRST = "{New|Fresh} drop is live ❄️ #winterdrop"
SECOND = "The winter drop is live now ❄️ #winterdrop"
FILES = 3


def write(directory: Path, posts: str, deletions: int) -> Path:
    path = directory / "calendar.yaml"
    path.write_text(PLAYBOOK.replace("{POSTS}", posts).replace("{DELETIONS}", str(deletions)), encoding="utf-8")
    return path


def naive(api: str, key: str, ids: list[int], media: Path) -> tuple[float, int, int]:
    """The calendar as a script would make it, one call at a time: per account and post, upload
    its files, then create it. Returns (seconds, requests sent, uploads)."""
    posts = [(["teaser.jpg"], "photo"), (["teaser.jpg", "look-2.jpg"], "album"), (["reel.mp4"], "reels")]
    sent = uploaded = 0
    with httpx.Client(base_url=api + "/", headers={**HEADERS, "Authorization": f"Bearer {key}"}, timeout=60) as c:
        def call(method: str, path: str, **kwargs: object) -> dict:
            nonlocal sent
            for _ in range(RETRIES):  # bounded: a 429 is retried after its Retry-After
                r = c.request(method, path, **kwargs)  # type: ignore[arg-type]
                sent += 1
                if r.status_code != 429:
                    r.raise_for_status()
                    return r.json().get("data") or {}
                time.sleep(float(r.headers.get("retry-after", 1)))
            raise RuntimeError(f"{method} {path}: still throttled")

        def run() -> None:
            nonlocal uploaded
            for account in ids:
                for i, (files, kind) in enumerate(posts):
                    media_ids = []
                    for name in files:
                        media_ids.append(str(call("POST", "media", files={"file": (name, (media / name).read_bytes())})
                                             ["id"]))
                        uploaded += 1
                    call("POST", "posts", json={"account_id": account, "type": kind, "caption": f"post {i}",
                                                "media_ids": ",".join(media_ids), "is_scheduled": True,
                                                "schedule_date": f"2030-12-{10 + i} 17:00:00"})

        seconds, _ = timed(run)
    return seconds, sent, uploaded


def uploads(base: str) -> int:
    served = httpx.get(f"{base}/_emulator/requests").json()["requests"]
    return sum(r["count"] for r in served if r["method"] == "POST" and r["route"] == "/media")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--jitter-ms", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed to each CLI run")
    parser.add_argument("--subset", type=int, default=40, help="accounts for the sequential script")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    n, rate, p = args.accounts, args.rate, 3
    pages = math.ceil(n / 100)  # the account list
    post_pages = math.ceil(n * p / 100)  # every post of the calendar, 100 a page
    rows: list[dict] = []
    startup = startup_cpu()
    with tempfile.TemporaryDirectory(prefix="bench-calendar-") as tmp_name, \
            world(n, rate=rate, tmp=Path(tmp_name), latency_ms=args.latency_ms, jitter_ms=args.jitter_ms) as w:
        media = w.tmp / "media"
        media.mkdir()
        (media / "teaser.jpg").write_bytes(JPEG)
        (media / "look-2.jpg").write_bytes(JPEG + b"look-2")  # bytes after the end marker: another file
        (media / "reel.mp4").write_bytes(MP4)
        kw = {"rate": rate, "concurrency": args.concurrency, "timeout": args.timeout}
        full = POSTS.replace("{CAPTION}", FIRST)
        # (name, playbook, CLI arguments, the requests it cannot do without)
        steps = [
            # accounts, posts (one page: none yet), the media library (one page: the files are not there)
            ("plan: a new calendar", full, ["plan", "--format", "json"], pages + 1 + 1),
            # the plan's reads, an upload per file, a create per copy, then the verify: posts and each file
            ("apply: uploads and creates", full, ["apply", "--yes"], pages + 2 + FILES + n * p + post_pages + FILES),
            ("plan again", full, ["plan", "--format", "json"], pages + post_pages + FILES),
            ("apply: one caption changed", POSTS.replace("{CAPTION}", SECOND), ["apply", "--yes"],
             pages + post_pages + FILES + n + post_pages + FILES),
            ("plan without the state database", POSTS.replace("{CAPTION}", SECOND), ["plan", "--format", "json"],
             pages + post_pages + FILES),
            ("apply: posts: [] (every copy deleted)", " []\n", ["apply", "--yes"],
             pages + post_pages + n * p + 1),
        ]
        for name, posts, cli, minimal in steps:
            if name == "plan without the state database":
                (w.tmp / "state.db").unlink(missing_ok=True)
            path = write(w.tmp, posts, n * p)
            saved = w.tmp / "plan.json"
            saved.unlink(missing_ok=True)
            extra = ["--out", str(saved)] if cli[0] == "plan" else []
            run = w.cli(name, [cli[0], str(path), *cli[1:], *extra], **kw)
            row = run.row(minimal, rate, startup)
            row["uploads"] = uploads(w.base)
            # what a plan found to do (the saved plan's summary); an apply's writes say what it did
            row["changes"] = json.loads(saved.read_text())["summary"]["total"] if extra and saved.exists() else None
            rows.append(row)
            print(f"  {name}: exit {run.exit_code}, {run.seconds:.1f} s, {run.requests} requests, "
                  f"{run.writes} writes, {row['uploads']} uploads, changes {row['changes']}", flush=True)
        per_account = {"orchestrator apply (uploads and creates)": rows[1]["seconds"] / n}
        baseline = None
        if args.subset:  # after the orchestrator's runs: every copy it made is deleted by then
            w.reset_counters()
            seconds, sent, made = naive(w.api, w.key, list(range(1, args.subset + 1)), media)
            per_account["sequential httpx script"] = seconds / args.subset
            baseline = {"accounts": args.subset, "seconds": round(seconds, 2), "requests": sent, "uploads": made}
            print(f"  sequential script: {args.subset} accounts, {sent} requests, {made} uploads, {seconds:.1f} s",
                  flush=True)
    result = {"accounts": n, "posts": p, "files": FILES, "rate": rate, "latency_ms": args.latency_ms,
              "jitter_ms": args.jitter_ms, "concurrency": args.concurrency, "startup_cpu_s": startup, "rows": rows,
              "baseline": baseline, "seconds_per_account": per_account}
    print(f"\n{n} accounts x {p} posts ({FILES} files), server limit R = {rate:g} req/s, "
          f"{args.latency_ms:g} ± {args.jitter_ms:g} ms per request; start-up CPU {startup:.2f} s\n")
    print(table(rows))
    print("\n| run | changes planned | writes | uploads | exit |\n|---|---|---|---|---|")
    for r in rows:
        planned = "" if r["changes"] is None else f"{r['changes']:,}"
        print(f"| {r['run']} | {planned} | {r['writes']:,} | {r['uploads']} | {r['exit']} |")
    if baseline:
        print(f"\nsequential script: {baseline['accounts']} accounts, {baseline['requests']:,} requests, "
              f"{baseline['uploads']:,} uploads (the orchestrator: {rows[1]['uploads']} for {n:,} accounts)")
    best = per_account["orchestrator apply (uploads and creates)"]
    print("\n| per account | seconds | orchestrator is faster by |\n|---|---|---|")
    for name, seconds in per_account.items():
        print(f"| {name} | {seconds:.4f} | {seconds / best:.1f}x |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
