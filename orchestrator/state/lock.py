"""One apply or reconcile cycle at a time per installation and state database.

Two runs on the same installation would plan against the same live state and both create
what is missing (two First Comment schedules, two captions), and would interleave their
journals. The lock is an ``flock`` on a file beside the state database, one file per base
URL: the kernel releases it when the holding process dies, however it dies (SIGKILL, OOM,
a power cut of the container), so a dead holder never needs a person to clean up, and there
is no stale-lock timeout to guess. The file's JSON body names the holder (host, pid, since
when, command) so the second run can say who is in the way; a body left by a dead holder is
simply overwritten by the next one to take the lock.

``flock`` is stdlib (``fcntl``) and does exactly this; the ``filelock`` library would add a
dependency for the same call without the holder's name. It works on local filesystems; on
NFS use a state database per host.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a run lock."""

    host: str
    pid: int
    since: float
    command: str
    base_url: str

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.command} (pid {self.pid} on {self.host}, since {when})"


class LockHeld(Exception):
    """Another run holds the lock; ``holder`` says who, when its file says (else None)."""

    def __init__(self, path: Path, holder: Holder | None) -> None:
        self.path, self.holder = path, holder
        who = holder.describe() if holder else "another process"
        super().__init__(f"another run holds the lock on this installation and state database: {who}; "
                         f"wait for it to finish, or stop it (lock file {path})")


def lock_path(state_db: str | Path, base_url: str) -> Path:
    """The lock file for ``base_url`` beside ``state_db``: one per installation and database."""
    db = Path(state_db)
    tag = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:12]
    return db.with_name(f"{db.name}.{tag}.lock")


def read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
        return Holder(str(data["host"]), int(data["pid"]), float(data["since"]), str(data["command"]),
                      str(data["base_url"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class RunLock:
    """The run lock, as a context manager: ``with RunLock(db, url, "apply"): ...``.

    ``acquire`` raises ``LockHeld`` at once when another live process holds it (never waits).
    ``previous`` is the holder named in the file when it was taken over from a dead process.
    """

    def __init__(self, state_db: str | Path, base_url: str, command: str) -> None:
        self.path = lock_path(state_db, base_url)
        self.base_url = base_url
        self.command = command
        self.previous: Holder | None = None
        self._file: TextIO | None = None

    def acquire(self) -> Holder:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # "a+" neither truncates a live holder's body nor fails when the file is missing.
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise LockHeld(self.path, read_holder(self.path)) from None
        except BaseException:
            handle.close()
            raise
        self.previous = read_holder(self.path)  # a body left behind: its process died holding the lock
        me = Holder(socket.gethostname(), os.getpid(), time.time(), self.command, self.base_url)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(me.__dict__) + "\n")
        handle.flush()
        self._file = handle
        return me

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            # Emptied first: a body in an unlocked file would name a holder that is gone.
            self._file.seek(0)
            self._file.truncate()
            self._file.flush()
        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()
        self._file = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


@contextlib.contextmanager
def run_lock(state_db: str | Path, base_url: str, command: str) -> Iterator[RunLock]:
    """``RunLock`` as a function, for ``with run_lock(...) as lock:``."""
    lock = RunLock(state_db, base_url, command)
    with lock:
        yield lock
