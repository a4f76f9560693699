"""One line per run for ``orchestrator history``: when, how long, who, what, and how it ended."""

from __future__ import annotations

from datetime import datetime

from orchestrator.state.store import RunRecord


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def run_line(run: RunRecord) -> str:
    """``#3 apply succeeded 2026-03-15 12:00:01 UTC (4.2s) by ana@laptop playbooks sha256:1a2b3c4d
    changes=40 accounts=25 applied and verified``; a resumed run says by which run."""
    report = run.report or {}
    changes = report.get("plan", {}).get("total", "-")
    took = f"({_duration(run.duration)})" if run.duration is not None else "(unfinished)"
    who = f"{run.user or '?'}@{run.host}" if run.host else None
    parts = [f"#{run.id}", run.command]
    if run.shard:
        parts.append(f"[shard {run.shard}]")
    parts += [run.status, _when(run.started), took]
    if who:
        parts.append(f"by {who}")
    if run.playbook_hash:
        parts.append(f"playbooks {run.playbook_hash[:15]}")
    parts += [f"changes={changes}", f"accounts={len(run.accounts)}"]
    message = str(report.get("message", ""))
    if run.resumed_by is not None:
        message = message.replace("; run apply --resume", "") + f"; resumed by #{run.resumed_by}"
    if run.resumes is not None:
        parts.append(f"(resumes #{run.resumes})")
    if message:
        parts.append(message)
    return " ".join(parts)
