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

    python bench/content_calendar.py [--accounts 1000] [--rate 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import ROOT  # noqa: E402
from _world import table, world  # noqa: E402

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
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    n, rate, p = args.accounts, args.rate, 3
    pages = math.ceil(n / 100)  # the account list
    post_pages = math.ceil(n * p / 100)  # every post of the calendar, 100 a page
    rows: list[dict] = []
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
            row = run.row(minimal, rate)
            row["uploads"] = uploads(w.base)
            # what a plan found to do (the saved plan's summary); an apply's writes say what it did
            row["changes"] = json.loads(saved.read_text())["summary"]["total"] if extra and saved.exists() else None
            rows.append(row)
            print(f"  {name}: exit {run.exit_code}, {run.seconds:.1f} s, {run.requests} requests, "
                  f"{run.writes} writes, {row['uploads']} uploads, changes {row['changes']}", flush=True)
    result = {"accounts": n, "posts": p, "files": FILES, "rate": rate, "latency_ms": args.latency_ms,
              "jitter_ms": args.jitter_ms, "concurrency": args.concurrency, "rows": rows}
    print(f"\n{n} accounts x {p} posts ({FILES} files), server limit R = {rate:g} req/s, "
          f"{args.latency_ms:g} ± {args.jitter_ms:g} ms per request\n")
    print(table(rows))
    print("\n| run | changes planned | writes | uploads | exit |\n|---|---|---|---|---|")
    for r in rows:
        planned = "" if r["changes"] is None else f"{r['changes']:,}"
        print(f"| {r['run']} | {planned} | {r['writes']:,} | {r['uploads']} | {r['exit']} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
