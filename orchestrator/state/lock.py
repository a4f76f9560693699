"""The SQLite store's run lock: one apply or reconcile cycle at a time per installation and
state database file. (The PostgreSQL store's lock is an advisory lock: ``state/postgres.py``.)

Two runs on the same installation would plan against the same live state and both create
what is missing (two First Comment schedules, two captions), and would interleave their
journals. The lock is an ``flock`` on a file beside the state database, one per installation:
the kernel releases it when the holding process dies, however it dies (SIGKILL, OOM, a power
cut of the container), so a dead holder never needs a person to clean up, and there is no
stale-lock timeout to guess. The file's JSON body names the holder (host, pid, since when,
command) so the second run can say who is in the way; a body left by a dead holder is simply
overwritten by the next one to take the lock.

Shards: shard K/N takes the installation's file *shared* and a file of its own (``K/N``)
exclusively, so the shards of one fleet run side by side while an unsharded run (which takes
the installation's file exclusively) keeps out of their way, and they out of its.

``flock`` works on local filesystems, so it keeps apart the runs of one machine; for runs on
several machines (a team, CI and a reconciler, shards on a cluster) use the PostgreSQL store.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from orchestrator.state.store import Holder, Installation, LockHeld, holder_now


def lock_path(state_db: str | Path, base_url: str, shard: str | None = None) -> Path:
    """The lock file of ``base_url``'s installation beside ``state_db`` (of shard ``K/N`` when given)."""
    db = Path(state_db)
    tag = Installation.of(base_url).id
    if shard:
        tag += ".shard-" + shard.replace("/", "-of-")
    return db.with_name(f"{db.name}.lock-{tag}")


def read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
        return Holder(str(data["host"]), int(data["pid"]), float(data["since"]), str(data["command"]),
                      str(data["base_url"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _FileLock:
    """One flock on one file, exclusive or shared; the holder's name in its body when exclusive."""

    def __init__(self, path: Path, shared: bool) -> None:
        self.path, self.shared = path, shared
        self._file: TextIO | None = None

    def take(self, me: Holder) -> Holder | None:
        """Take it (never waits); the holder named in a body left behind, if any. ``LockHeld`` when taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # "a+" neither truncates a live holder's body nor fails when the file is missing.
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until drop()
        try:
            fcntl.flock(handle.fileno(), (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise LockHeld(self.path, read_holder(self.path)) from None
        except BaseException:
            handle.close()
            raise
        self._file = handle
        if self.shared:
            return None
        previous = read_holder(self.path)  # a body left behind: its process died holding the lock
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({k: v for k, v in me.__dict__.items() if k != "heartbeat"}) + "\n")
        handle.flush()
        return previous

    def drop(self) -> None:
        if self._file is None:
            return
        if not self.shared:
            with contextlib.suppress(OSError):
                # Emptied first: a body in an unlocked file would name a holder that is gone.
                self._file.seek(0)
                self._file.truncate()
                self._file.flush()
        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()
        self._file = None


class RunLock:
    """The run lock, as a context manager: ``with RunLock(db, url, "apply"): ...``.

    ``acquire`` raises ``LockHeld`` at once when another live process holds it (never waits).
    ``previous`` is the holder named in the file when it was taken over from a dead process.
    ``shard`` (``"K/N"``) takes the shard's lock, shared with the fleet's other shards."""

    def __init__(self, state_db: str | Path, base_url: str, command: str, shard: str | None = None) -> None:
        self.installation = Installation.of(base_url)
        self.path = lock_path(state_db, base_url)
        self.command = command
        self.previous: Holder | None = None
        self.me: Holder | None = None
        self._db = Path(state_db)
        self._base_url = base_url
        self._locks = [_FileLock(self.path, shared=shard is not None)]
        if shard is not None:
            self._locks.append(_FileLock(lock_path(state_db, base_url, shard), shared=False))

    def acquire(self) -> Holder:
        me = holder_now(self.command, self.installation)
        taken: list[_FileLock] = []
        try:
            for lock in self._locks:
                try:
                    previous = lock.take(me)
                except LockHeld as exc:
                    if exc.holder is None:  # held shared, by shards: name one of them
                        exc = LockHeld(exc.path, self._a_shard_holder())
                    raise exc from None
                taken.append(lock)
                self.previous = previous or self.previous
        except BaseException:
            for lock in reversed(taken):
                lock.drop()
            raise
        self.me = me
        return me

    def _a_shard_holder(self) -> Holder | None:
        for path in sorted(self._db.parent.glob(f"{self.path.name}.shard-*")):
            holder = read_holder(path)
            if holder is not None:
                return holder
        return None

    def release(self) -> None:
        for lock in reversed(self._locks):
            lock.drop()

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


def old_lock_tags(state_db: str | Path) -> set[str]:
    """The tags of the lock files releases before the store's installation ids made beside
    ``state_db`` (``state.db.<12 hex of sha256(base URL)>.lock``): which installations used it."""
    db = Path(state_db)
    tags = set()
    for path in db.parent.glob(f"{db.name}.*.lock"):
        tag = path.name[len(db.name) + 1:-len(".lock")]
        if len(tag) == 12 and all(c in "0123456789abcdef" for c in tag):
            tags.add(tag)
    return tags


def old_lock_tag(base_url: str) -> str:
    import hashlib

    return hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:12]


__all__ = ["Holder", "LockHeld", "RunLock", "lock_path", "read_holder", "run_lock", "old_lock_tags",
           "old_lock_tag"]
