"""The PostgreSQL state store: ``state_db: postgresql://user@host:5432/dbname``.

One state for the team and the fleet: every machine that runs ``apply`` or ``reconcile``
against an installation (a laptop, CI, the reconciler, N shards) shares its history, journal,
drift record, applied values, backoff, lock and budgets.

**The lock** is a PostgreSQL advisory lock per (installation, scope), taken with
``pg_try_advisory_lock`` on a connection of its own, held for the whole run (as Terraform's
pg backend does per workspace). An unsharded run takes the installation's lock exclusively;
shard K/N takes it shared, and its shard's lock exclusively. Beside the lock, a holder row
(command, host, pid, since, last heartbeat) names the holder, so a second run exits 1 saying
who is in the way. When the holder dies, however it dies, its session ends and PostgreSQL
frees the lock at once; the next run finds the dead holder's row (its backend is gone),
says whose lock it took over, and replaces it. No stale-lock timeout.

**The password** comes from where libpq looks for it: the URL, ``PGPASSWORD``, ``~/.pgpass``.
It is registered with the log redaction and masked in every message (``mask_url``).

**Migrations** are versioned (``schema_version``) and run on first use, under a transaction
advisory lock, so two processes starting together migrate once.

Every call goes through psycopg's async driver and a small pool (the lock's connection
apart): nothing blocks the event loop. A connection lost mid-call is tried again (the pool
replaces it) until ``busy_timeout``; a lock wait longer than that (``lock_timeout``) ends the
call with one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import anyio

from orchestrator.contract import Claim
from orchestrator.contract.vocabulary import OpStatus
from orchestrator.log import get_logger, redact_text, redact_value
from orchestrator.plan import Change
from orchestrator.state.fleet import FleetMember, decide_round, reservation_of
from orchestrator.state.snapshot import (
    WRITE_ACCOUNT,
    WRITE_BASE_URL,
    WRITE_CYCLE,
    WRITE_DESIRED,
    WRITE_RECURRING,
    AccountStatus,
    CycleStatus,
    status_write,
)
from orchestrator.state.store import (
    DEFAULT_BUSY_TIMEOUT,
    RESUMABLE,
    SCHEMA_VERSION,
    Backoff,
    BackoffPolicy,
    DriftRow,
    DriftState,
    Holder,
    InDoubt,
    Installation,
    Key,
    ObjectWrites,
    Objects,
    UploadWrites,
    LockHeld,
    PruneResult,
    Reservation,
    Resolution,
    RetentionPolicy,
    RunLockGrant,
    RunRecord,
    StateBusyError,
    StateDbError,
    StateStoreError,
    UNSETTLED,
    account_field,
    applied_rows,
    claim_rows,
    compact_report,
    drift_key,
    drift_value,
    end_row,
    holder_now,
    in_doubt_of,
    mask_url,
    register_url_secret,
    user_name,
    wanted_values,
)

log = get_logger("orchestrator.state")
T = TypeVar("T")

SCHEMA = [
    """CREATE TABLE runs (
        id BIGSERIAL PRIMARY KEY, installation TEXT NOT NULL, shard TEXT, started DOUBLE PRECISION NOT NULL,
        finished DOUBLE PRECISION, command TEXT NOT NULL, playbook_hash TEXT, status TEXT NOT NULL,
        accounts TEXT NOT NULL, report TEXT, host TEXT, run_user TEXT, resumes BIGINT)""",
    "CREATE INDEX runs_installation ON runs(installation, id)",
    "CREATE INDEX runs_resumes ON runs(resumes)",
    """CREATE TABLE operations (
        id BIGSERIAL PRIMARY KEY, installation TEXT NOT NULL, run_id BIGINT NOT NULL, account_id BIGINT NOT NULL,
        kind TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
        started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION)""",
    "CREATE INDEX operations_run ON operations(run_id)",
    """CREATE TABLE applied_values (
        installation TEXT NOT NULL, account_id BIGINT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
        value TEXT NOT NULL, run_id BIGINT, at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (installation, account_id, kind, path))""",
    """CREATE TABLE known_accounts (
        installation TEXT NOT NULL, username TEXT NOT NULL, account_id BIGINT NOT NULL, seen DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (installation, username))""",
    """CREATE TABLE backoff (
        installation TEXT NOT NULL, account_id BIGINT NOT NULL, username TEXT NOT NULL, failures INTEGER NOT NULL,
        next_try DOUBLE PRECISION NOT NULL, last_error TEXT, PRIMARY KEY (installation, account_id))""",
    """CREATE TABLE drift_states (
        id BIGSERIAL PRIMARY KEY, installation TEXT NOT NULL, account_id BIGINT NOT NULL, username TEXT NOT NULL,
        kind TEXT NOT NULL, path TEXT NOT NULL, action TEXT NOT NULL, before TEXT, after TEXT, outcome TEXT NOT NULL,
        reason TEXT, shard TEXT, first_run BIGINT NOT NULL, last_run BIGINT NOT NULL,
        first_seen DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL, cycles INTEGER NOT NULL,
        open BOOLEAN NOT NULL)""",
    "CREATE INDEX drift_open ON drift_states(installation, open, account_id)",
    "CREATE INDEX drift_last ON drift_states(installation, last_run)",
    """CREATE TABLE run_locks (
        installation TEXT NOT NULL, scope TEXT NOT NULL, backend_pid INTEGER NOT NULL, command TEXT NOT NULL,
        host TEXT NOT NULL, pid INTEGER NOT NULL, base_url TEXT NOT NULL, since DOUBLE PRECISION NOT NULL,
        heartbeat DOUBLE PRECISION NOT NULL, PRIMARY KEY (installation, scope, backend_pid))""",
    """CREATE TABLE fleet_members (
        installation TEXT NOT NULL, member TEXT NOT NULL, shard TEXT, joined DOUBLE PRECISION NOT NULL,
        expires DOUBLE PRECISION NOT NULL, PRIMARY KEY (installation, member))""",
    """CREATE TABLE fleet_rounds (
        installation TEXT NOT NULL, round TEXT NOT NULL, shards INTEGER NOT NULL, opened DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (installation, round))""",
    """CREATE TABLE fleet_allowance (
        installation TEXT NOT NULL, round TEXT NOT NULL, rule TEXT NOT NULL, used INTEGER NOT NULL,
        allowed INTEGER NOT NULL, at DOUBLE PRECISION NOT NULL, PRIMARY KEY (installation, round, rule))""",
    """CREATE TABLE store_meta (
        installation TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (installation, key))""",
]
# The status page's snapshot (orchestrator.state.snapshot), the installation on every row.
STATUS = [
    """CREATE TABLE status_accounts (
        installation TEXT NOT NULL, account_id BIGINT NOT NULL, username TEXT NOT NULL, state TEXT NOT NULL,
        since DOUBLE PRECISION NOT NULL, run_id BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL, kinds TEXT NOT NULL,
        groups TEXT NOT NULL, reasons TEXT NOT NULL, differences INTEGER NOT NULL, fixed INTEGER NOT NULL,
        notes TEXT NOT NULL, desired TEXT, PRIMARY KEY (installation, account_id))""",
    "CREATE INDEX status_accounts_state ON status_accounts(installation, state, username)",
    "CREATE INDEX status_accounts_username ON status_accounts(installation, username)",
    """CREATE TABLE status_desired (
        installation TEXT NOT NULL, digest TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (installation, digest))""",
    """CREATE TABLE status_recurring (
        installation TEXT NOT NULL, account_id BIGINT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
        username TEXT NOT NULL, fixed_run BIGINT, came_back INTEGER NOT NULL, last_run BIGINT NOT NULL,
        last_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (installation, account_id, kind, path))""",
    "CREATE INDEX status_recurring_top ON status_recurring(installation, came_back) WHERE came_back > 0",
    """CREATE TABLE status_cycles (
        installation TEXT NOT NULL, run_id BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL, mode TEXT NOT NULL,
        result TEXT NOT NULL, counts TEXT, PRIMARY KEY (installation, run_id))""",
]
# The window claims (see `StateStore.window_claims`), as in the SQLite store's version 4.
CLAIMS = [
    """CREATE TABLE IF NOT EXISTS window_claims (
        installation TEXT NOT NULL, account_id BIGINT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
        entry TEXT NOT NULL, run_id BIGINT, at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (installation, account_id, kind, path))""",
]
# Version 5: the posts memory, as on SQLite.
IDENTITIES = [
    """CREATE TABLE IF NOT EXISTS server_objects (
        installation TEXT NOT NULL, kind TEXT NOT NULL, account_id BIGINT NOT NULL, key TEXT NOT NULL,
        server_id BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL, PRIMARY KEY (installation, kind, account_id, key))""",
    """CREATE TABLE IF NOT EXISTS uploads (
        installation TEXT NOT NULL, sha256 TEXT NOT NULL, media_id BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (installation, sha256))""",
]
# Version 6: operations in doubt, as on SQLite.
DOUBTS = [
    "ALTER TABLE operations ADD COLUMN IF NOT EXISTS resolution TEXT",
    "ALTER TABLE operations ADD COLUMN IF NOT EXISTS resolved DOUBLE PRECISION",
    "CREATE INDEX IF NOT EXISTS operations_unsettled ON operations(installation, status)"
    " WHERE status IN ('pending', 'in_doubt')",
]
# Version 2 is this backend's first (the SQLite store's version 2: it never had the older
# schema); version 3 adds the status page's snapshot, version 4 the window claims, version 5
# the posts memory, version 6 operations in doubt, as on SQLite.
MIGRATIONS: dict[int, list[str]] = {2: SCHEMA, 3: STATUS, 4: CLAIMS, 5: IDENTITIES, 6: DOUBTS}
MIGRATION_LOCK = 0x5354_4F52  # "STOR": the transaction advisory lock migrations take
PRUNE_EVERY = 3600.0
CHUNK = 500
LOCK_HEARTBEAT = 10.0  # seconds between the lock holder row's heartbeats
NOW = "extract(epoch from clock_timestamp())"  # the server's clock: the same for every machine


def _pg(sql: str) -> str:
    """SQL written for both backends (``?`` placeholders, no ``%``) as psycopg takes it."""
    assert "%" not in sql
    return sql.replace("?", "%s")


def _key(text: str) -> int:
    """A signed 32-bit advisory lock key from ``text`` (stable everywhere)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big", signed=True)


class PostgresStore:
    """The PostgreSQL implementation of ``orchestrator.state.store.StateStore``."""

    def __init__(self, url: str, base_url: str, *, shard: str | None = None,
                 busy_timeout: float = DEFAULT_BUSY_TIMEOUT, retention: RetentionPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        register_url_secret(url)
        self.url = url
        self.where = mask_url(url)
        self.base_url = base_url
        self.installation = Installation.of(base_url)
        self.shard = shard
        self.shards = int(shard.split("/")[1]) if shard else None
        self.busy_timeout = busy_timeout
        self.retention = retention or RetentionPolicy()
        self.clock = clock
        self._ends: list[tuple[str, str | None, float, int]] = []
        self._pool: Any = None

    # -- opening -------------------------------------------------------------------------------
    def _error(self, exc: BaseException) -> StateDbError:
        reason = redact_text(" ".join(str(exc).split()) or type(exc).__name__)
        return StateDbError(self.where, reason.replace(self.url, self.where),
                            "check the URL, that the server runs and the user may connect (password from the URL, "
                            "PGPASSWORD or ~/.pgpass)")

    async def _connect(self, *, autocommit: bool = True) -> Any:
        import psycopg

        try:
            with anyio.fail_after(self.busy_timeout + 5):
                return await psycopg.AsyncConnection.connect(self.url, autocommit=autocommit,
                                                             connect_timeout=max(2, int(self.busy_timeout)))
        except TimeoutError:
            raise StateDbError(self.where, f"no answer within {self.busy_timeout:.0f} s",
                               "check the URL and that the server runs") from None
        except psycopg.Error as exc:
            raise self._error(exc) from None

    async def open(self, *, readonly: bool = False) -> PostgresStore | None:
        """Connect, migrate on first use (not when ``readonly``: then None if never migrated),
        and open the pool."""
        import psycopg
        from psycopg_pool import AsyncConnectionPool

        conn = await self._connect()
        try:
            version = await self._version(conn)
            if readonly and version != SCHEMA_VERSION:
                return None
            if version > SCHEMA_VERSION:
                raise StateDbError(self.where, f"it was written by a newer release (schema {version})",
                                   "upgrade the orchestrator, or use another database")
            if version < SCHEMA_VERSION:
                await self._migrate(conn)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            await conn.close()
        lock_ms = int(self.busy_timeout * 1000)

        async def configure(c: Any) -> None:
            await c.execute(f"SET lock_timeout = {lock_ms}")

        self._pool = AsyncConnectionPool(self.url, min_size=2, max_size=8, open=False, configure=configure,
                                         kwargs={"autocommit": True}, timeout=self.busy_timeout)
        try:
            await self._pool.open(wait=True, timeout=self.busy_timeout)
        except Exception as exc:  # noqa: BLE001 - the pool's own timeout or a driver error: one line either way
            await self._pool.close()
            raise self._error(exc) from None
        return self

    async def _version(self, conn: Any) -> int:
        cur = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")
        if not (await cur.fetchone())[0]:
            return 0
        cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int((await cur.fetchone())[0])

    async def _migrate(self, conn: Any) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
                               "applied DOUBLE PRECISION NOT NULL)")
            version = await self._version(conn)
            for number in sorted(MIGRATIONS):
                if number > version:
                    for statement in MIGRATIONS[number]:
                        await conn.execute(statement)
                    await conn.execute("INSERT INTO schema_version VALUES (%s, %s)", (number, time.time()))

    async def close(self) -> None:
        if self._pool is None:
            return
        with contextlib.suppress(StateStoreError):
            await self.flush()
        await self._pool.close()
        self._pool = None

    # -- calls -------------------------------------------------------------------------------------
    async def _run(self, fn: Callable[[Any], Awaitable[T]], *, tx: bool = False) -> T:
        """``fn(connection)`` (in a transaction when ``tx``), tried again on a lost connection
        until ``busy_timeout``; a lock wait past it is ``StateBusyError``."""
        import psycopg
        from psycopg_pool import PoolTimeout

        deadline = time.monotonic() + self.busy_timeout
        warned = False
        while True:
            try:
                async with self._pool.connection() as conn:
                    if not tx:
                        return await fn(conn)
                    async with conn.transaction():
                        return await fn(conn)
            except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled):
                raise StateBusyError(
                    f"the state database {self.where} kept a lock for more than {self.busy_timeout:.0f} s: what was "
                    "journaled is kept; find the session that holds it (pg_stat_activity), or raise "
                    "SHARINGTOOLS_STATE_BUSY_TIMEOUT") from None
            except (psycopg.OperationalError, PoolTimeout) as exc:
                if time.monotonic() >= deadline:
                    raise self._error(exc) from None
                if not warned:
                    warned = True
                    log.warning("state database unreachable; trying again", database=self.where,
                                up_to_seconds=self.busy_timeout, error=redact_text(str(exc)))
                await anyio.sleep(0.2)
            except psycopg.Error as exc:
                raise self._error(exc) from None

    def _take_ends(self) -> list[tuple[str, str | None, float, int]]:
        ends, self._ends = self._ends, []
        return ends

    async def _write(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """``fn`` in a transaction that first commits the buffered operation ends."""
        ends = self._take_ends()

        async def work(conn: Any) -> T:
            if ends:
                async with conn.cursor() as cur:
                    await cur.executemany("UPDATE operations SET status=%s, error=%s, finished=%s WHERE id=%s", ends)
            return await fn(conn)
        try:
            return await self._run(work, tx=True)
        except BaseException:
            self._ends = ends + self._ends
            raise

    async def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        async def query(conn: Any) -> list[Any]:
            cur = await conn.execute(sql, args)
            return list(await cur.fetchall())
        return await self._run(query)

    async def flush(self) -> None:
        if self._ends:
            await self._write(_nothing)

    # -- runs --------------------------------------------------------------------------------------
    async def start_run(self, command: str, playbook_hash: str | None, accounts: Sequence[int],
                        resumes: int | None = None) -> int:
        row = (self.installation.id, self.shard, self.clock(), command, playbook_hash, "running",
               json.dumps(sorted(set(accounts)), separators=(",", ":")), socket.gethostname(), user_name(), resumes)

        async def insert(conn: Any) -> int:
            cur = await conn.execute(
                "INSERT INTO runs (installation, shard, started, command, playbook_hash, status, accounts, host,"
                " run_user, resumes) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id", row)
            return int((await cur.fetchone())[0])
        return await self._write(insert)

    async def finish_run(self, run_id: int, status: str, report: Mapping[str, Any]) -> None:
        body = compact_report(report)

        async def update(conn: Any) -> None:
            await conn.execute("UPDATE runs SET finished=%s, status=%s, report=%s WHERE id=%s AND installation=%s",
                               (self.clock(), str(status), body, run_id, self.installation.id))
        await self._write(update)
        await self.maybe_prune()

    _RUN_COLUMNS = ("id, started, finished, command, status, accounts, report, playbook_hash, host, run_user, resumes,"
                    " (SELECT MIN(r2.id) FROM runs r2 WHERE r2.resumes = runs.id), shard, installation")

    @staticmethod
    def _record(r: Sequence[Any]) -> RunRecord:
        return RunRecord(int(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]) if r[6] else None,
                         r[7], r[8], r[9], r[10], r[11], r[12], r[13])

    async def runs(self, limit: int = 20, *, every_installation: bool = False) -> list[RunRecord]:
        if every_installation:
            rows = await self._rows(f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT %s", (limit,))
        else:
            rows = await self._rows(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE installation=%s ORDER BY id DESC"
                                    " LIMIT %s", (self.installation.id, limit))
        return [self._record(r) for r in rows]

    async def run(self, run_id: int) -> RunRecord | None:
        rows = await self._rows(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id=%s AND installation=%s",
                                (run_id, self.installation.id))
        return self._record(rows[0]) if rows else None

    async def unfinished(self) -> RunRecord | None:
        rows = await self._rows(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE installation=%s AND shard IS NOT "
                                "DISTINCT FROM %s ORDER BY id DESC LIMIT 1", (self.installation.id, self.shard))
        if not rows:
            return None
        run = self._record(rows[0])
        return run if run.status in RESUMABLE else None

    # -- the journal -------------------------------------------------------------------------------
    async def op_started(self, run_id: int, account_id: int, kind: str, name: str, args: Any) -> int:
        row = (self.installation.id, run_id, account_id, str(kind), str(name),
               json.dumps(redact_value(args), default=str), "pending", self.clock())

        ends = self._take_ends()

        async def insert(conn: Any) -> int:
            # One round trip (a pipeline, no transaction): the buffered ends and the new start
            # are each right on their own, so nothing needs them committed together.
            async with conn.pipeline():
                if ends:
                    async with conn.cursor() as c:
                        await c.executemany("UPDATE operations SET status=%s, error=%s, finished=%s WHERE id=%s", ends)
                cur = await conn.execute("INSERT INTO operations (installation, run_id, account_id, kind, name, args,"
                                         " status, started) VALUES (%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id", row)
            return int((await cur.fetchone())[0])
        try:
            return await self._run(insert)
        except BaseException:
            self._ends = ends + self._ends
            raise

    def op_finished(self, op_id: int, error: str | None = None, status: OpStatus | None = None) -> None:
        self._ends.append(end_row(op_id, error, status, self.clock()))

    async def in_doubt(self) -> list[InDoubt]:
        await self.flush()
        rows = await self._rows(
            "SELECT o.id, o.run_id, o.account_id, o.kind, o.name, o.args, o.status, COALESCE(o.finished, o.started),"
            " o.error FROM operations o JOIN runs r ON r.id = o.run_id WHERE o.installation=%s AND o.status IN (%s, %s)"
            " AND r.shard IS NOT DISTINCT FROM %s ORDER BY o.id", (self.installation.id, *UNSETTLED, self.shard))
        return [in_doubt_of(r) for r in rows]

    async def resolve(self, resolutions: Sequence[Resolution]) -> None:
        if not resolutions:
            return
        at, inst = self.clock(), self.installation.id
        rows = [(str(r.status), redact_value(r.note), at, r.op_id, inst) for r in resolutions]

        async def update(conn: Any) -> None:
            async with conn.cursor() as cur:
                await cur.executemany("UPDATE operations SET status=%s, resolution=%s, resolved=%s WHERE id=%s"
                                      " AND installation=%s", rows)
        await self._write(update)

    async def operations(self, run_id: int) -> list[dict[str, Any]]:
        await self.flush()
        rows = await self._rows("SELECT id, account_id, kind, name, args, status, error FROM operations"
                                " WHERE run_id=%s AND installation=%s ORDER BY id", (run_id, self.installation.id))
        return [{"id": int(r[0]), "account_id": int(r[1]), "kind": r[2], "name": r[3], "args": json.loads(r[4]),
                 "status": r[5], "error": r[6]} for r in rows]

    # -- applied values, known accounts ------------------------------------------------------------
    async def record_applied(self, changes: Iterable[Change], run_id: int | None = None) -> None:
        changes = list(changes)
        rows, gone = applied_rows(changes, run_id, self.clock())
        if not rows and not gone:
            return
        claims = claim_rows(changes, run_id, self.clock())
        inst = self.installation.id

        async def write(conn: Any) -> None:
            async with conn.cursor() as cur:
                if claims:
                    await cur.executemany(
                        "INSERT INTO window_claims VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (installation, "
                        "account_id, kind, path) DO UPDATE SET entry=excluded.entry, run_id=excluded.run_id, "
                        "at=excluded.at", [(inst, *c) for c in claims])
                if gone:
                    await cur.executemany("DELETE FROM window_claims WHERE installation=%s AND account_id=%s AND "
                                          "kind=%s AND path=%s", [(inst, *g) for g in gone])
                if rows:
                    await cur.executemany(
                        "INSERT INTO applied_values VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (installation, "
                        "account_id, kind, path) DO UPDATE SET value=excluded.value, run_id=excluded.run_id, "
                        "at=excluded.at", [(inst, *r) for r in rows])
                if gone:
                    await cur.executemany("DELETE FROM applied_values WHERE installation=%s AND account_id=%s AND "
                                          "kind=%s AND path=%s", [(inst, *g) for g in gone])
        await self._write(write)

    async def record_accounts(self, accounts: Iterable[Any]) -> None:
        now, inst = self.clock(), self.installation.id
        rows = [(inst, str(account_field(a, "username")).casefold(), int(account_field(a, "id")), now)
                for a in accounts]
        if not rows:
            return

        async def write(conn: Any) -> None:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO known_accounts VALUES (%s,%s,%s,%s) ON CONFLICT (installation, username) DO UPDATE"
                    " SET account_id=excluded.account_id, seen=excluded.seen", rows)
        await self._write(write)

    async def window_claims(self) -> frozenset[Claim]:
        rows = await self._rows("SELECT account_id, kind, path, entry FROM window_claims WHERE installation=%s",
                                (self.installation.id,))
        return frozenset(Claim(int(r[0]), r[1], r[2], r[3]) for r in rows)

    async def known_usernames(self) -> frozenset[str]:
        rows = await self._rows("SELECT username FROM known_accounts WHERE installation=%s", (self.installation.id,))
        return frozenset(r[0] for r in rows)

    # -- the posts memory ------------------------------------------------------------------------
    async def remembered(self) -> tuple[Objects, dict[str, int]]:
        inst = self.installation.id
        objects = {(k, int(a), key): int(s) for k, a, key, s in await self._rows(
            "SELECT kind, account_id, key, server_id FROM server_objects WHERE installation=%s", (inst,))}
        uploads = {sha: int(m) for sha, m in await self._rows(
            "SELECT sha256, media_id FROM uploads WHERE installation=%s", (inst,))}
        return objects, uploads

    async def save_identities(self, objects: ObjectWrites, uploads: UploadWrites) -> None:
        if not objects and not uploads:
            return
        now, inst = self.clock(), self.installation.id
        keep = [(inst, str(k), a, key, s, now) for (k, a, key), s in objects.items() if s is not None]
        drop = [(inst, str(k), a, key) for (k, a, key), s in objects.items() if s is None]
        kept = [(inst, sha, m, now) for sha, m in uploads.items() if m is not None]
        dropped = [(inst, sha) for sha, m in uploads.items() if m is None]

        async def write(conn: Any) -> None:
            async with conn.cursor() as cur:
                if keep:
                    await cur.executemany(
                        "INSERT INTO server_objects VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (installation, kind, "
                        "account_id, key) DO UPDATE SET server_id=excluded.server_id, at=excluded.at", keep)
                if drop:
                    await cur.executemany("DELETE FROM server_objects WHERE installation=%s AND kind=%s AND "
                                          "account_id=%s AND key=%s", drop)
                if kept:
                    await cur.executemany(
                        "INSERT INTO uploads VALUES (%s,%s,%s,%s) ON CONFLICT (installation, sha256) DO UPDATE "
                        "SET media_id=excluded.media_id, at=excluded.at", kept)
                if dropped:
                    await cur.executemany("DELETE FROM uploads WHERE installation=%s AND sha256=%s", dropped)
        await self._write(write)

    async def last_applied(self, account_id: int, kind: str, path: str) -> object | None:
        rows = await self._rows("SELECT value FROM applied_values WHERE installation=%s AND account_id=%s AND kind=%s"
                                " AND path=%s", (self.installation.id, account_id, str(kind), path))
        return json.loads(rows[0][0]) if rows else None

    async def applied_drift(self, changes: Iterable[Change]) -> frozenset[Key]:
        wanted = wanted_values(changes)
        if not wanted:
            return frozenset()
        rows = await self._rows("SELECT account_id, kind, path, value FROM applied_values WHERE installation=%s",
                                (self.installation.id,))
        return frozenset((int(a), k, p) for a, k, p, v in rows if wanted.get((int(a), k, p)) == v)

    # -- drift -------------------------------------------------------------------------------------
    async def record_drift(self, run_id: int, rows: Sequence[DriftRow], read: Collection[int],
                           now: float | None = None) -> None:
        """As ``SqliteStore.record_drift``: changes of state, not a row per fact per cycle."""
        at = self.clock() if now is None else now
        inst = self.installation.id
        accounts = set(read) | {r.account_id for r in rows}

        async def write(conn: Any) -> None:
            cur = await conn.execute("SELECT id, account_id, kind, path, action, before, after, outcome, reason"
                                     " FROM drift_states WHERE installation=%s AND open", (inst,))
            open_states: dict[tuple[int, str, str], tuple[int, tuple[Any, ...]]] = {}
            for sid, account_id, kind, path, *value in await cur.fetchall():
                if int(account_id) in accounts:
                    open_states[(int(account_id), kind, path)] = (sid, tuple(value))
            seen, bump, close, new = set(), [], [], []
            for row in rows:
                key, value = drift_key(row), drift_value(row)
                if key in seen:
                    continue
                seen.add(key)
                state = open_states.get(key)
                if state is not None and state[1] == value:
                    bump.append((run_id, at, row.username, self.shard, state[0]))
                    continue
                if state is not None:
                    close.append((state[0],))
                new.append((inst, row.account_id, row.username, row.kind, row.path, *value, self.shard, run_id,
                            run_id, at, at, 1, True))
            close += [(sid,) for key, (sid, _) in open_states.items() if key not in seen and key[0] in read]
            async with conn.cursor() as c:
                if bump:
                    await c.executemany("UPDATE drift_states SET last_run=%s, last_seen=%s, cycles=cycles+1,"
                                        " username=%s, shard=%s WHERE id=%s", bump)
                if close:
                    await c.executemany("UPDATE drift_states SET open=false WHERE id=%s", close)
                if new:
                    await c.executemany(
                        "INSERT INTO drift_states (installation, account_id, username, kind, path, action, before,"
                        " after, outcome, reason, shard, first_run, last_run, first_seen, last_seen, cycles, open)"
                        " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", new)
        await self._write(write)

    @staticmethod
    def _drift_row(r: Sequence[Any]) -> DriftRow:
        return DriftRow(int(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None,
                        json.loads(r[6]) if r[6] else None, r[7], r[8])

    async def drift_of_run(self, run_id: int) -> list[DriftRow]:
        run = await self.run(run_id)
        if run is None or not run.command.startswith("reconcile"):
            return []
        rows = await self._rows(
            "SELECT account_id, username, kind, path, action, before, after, outcome, reason FROM drift_states"
            " WHERE installation=%s AND first_run<=%s AND last_run>=%s AND shard IS NOT DISTINCT FROM %s"
            " ORDER BY username, kind, path", (self.installation.id, run_id, run_id, run.shard))
        return [self._drift_row(r) for r in rows]

    async def drift_states(self, *, open_only: bool = False) -> list[DriftState]:
        rows = await self._rows(
            "SELECT account_id, username, kind, path, action, before, after, outcome, reason, first_run, last_run,"
            " first_seen, last_seen, cycles, open, shard FROM drift_states WHERE installation=%s"
            + (" AND open" if open_only else "") + " ORDER BY id", (self.installation.id,))
        return [DriftState(self._drift_row(r), int(r[9]), int(r[10]), r[11], r[12], r[13], bool(r[14]), r[15])
                for r in rows]

    async def hot_spots(self, limit: int = 10, min_cycles: int = 2, recent: int = 50) -> list[dict[str, Any]]:
        inst = self.installation.id
        since = await self._rows("SELECT id FROM runs WHERE installation=%s AND command LIKE 'reconcile%%'"
                                 " ORDER BY id DESC LIMIT 1 OFFSET %s", (inst, recent - 1))
        rows = await self._rows(
            "SELECT MAX(username), kind, path, SUM(cycles) AS n, MAX(last_seen) FROM drift_states"
            " WHERE installation=%s AND outcome != 'blocked' AND last_run >= %s GROUP BY account_id, kind, path"
            " HAVING SUM(cycles) >= %s ORDER BY n DESC, 1, kind, path LIMIT %s",
            (inst, since[0][0] if since else 0, min_cycles, limit))
        return [{"username": r[0], "kind": r[1], "path": r[2], "cycles": int(r[3]), "last": r[4]} for r in rows]

    # -- backoff -----------------------------------------------------------------------------------
    async def backoffs(self) -> dict[int, Backoff]:
        rows = await self._rows("SELECT account_id, username, failures, next_try, last_error FROM backoff"
                                " WHERE installation=%s", (self.installation.id,))
        return {int(r[0]): Backoff(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows}

    async def backoff_failed(self, account_id: int, username: str, error: str, policy: BackoffPolicy,
                             now: float | None = None) -> Backoff:
        at = self.clock() if now is None else now
        inst = self.installation.id

        async def write(conn: Any) -> Backoff:
            cur = await conn.execute("SELECT failures FROM backoff WHERE installation=%s AND account_id=%s FOR UPDATE",
                                     (inst, account_id))
            row = await cur.fetchone()
            failures = (row[0] if row else 0) + 1
            entry = Backoff(account_id, username, failures, at + policy.delay(failures), redact_value(error))
            await conn.execute(
                "INSERT INTO backoff VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (installation, account_id) DO UPDATE SET"
                " username=excluded.username, failures=excluded.failures, next_try=excluded.next_try,"
                " last_error=excluded.last_error",
                (inst, entry.account_id, entry.username, entry.failures, entry.next_try, entry.last_error))
            return entry
        return await self._write(write)

    async def backoff_forget(self, account_ids: Iterable[int]) -> None:
        ids = [(self.installation.id, a) for a in account_ids]
        if not ids:
            return

        async def write(conn: Any) -> None:
            async with conn.cursor() as cur:
                await cur.executemany("DELETE FROM backoff WHERE installation=%s AND account_id=%s", ids)
        await self._write(write)

    # -- the status page's snapshot -------------------------------------------------------------------
    async def record_status(self, cycle: CycleStatus, accounts: Sequence[AccountStatus] | None,
                            drift: Iterable[DriftRow] = ()) -> None:
        """One cycle's status rows (``orchestrator.state.snapshot``), in one transaction."""
        rows = status_write(self.installation.id, self.installation.url, cycle, accounts, drift)

        async def write(conn: Any) -> None:
            async with conn.cursor() as cur:
                await cur.execute(_pg(WRITE_CYCLE), rows.cycle)
                await cur.execute(_pg(WRITE_BASE_URL), rows.base_url)
                if rows.recurring:
                    await cur.executemany(_pg(WRITE_RECURRING), rows.recurring)
                if rows.fleet:
                    if rows.desired:
                        await cur.executemany(_pg(WRITE_DESIRED), rows.desired)
                    if rows.accounts:
                        await cur.executemany(_pg(WRITE_ACCOUNT), rows.accounts)
                    for sql, args in rows.deletes():
                        await cur.execute(_pg(sql), args)
        await self._write(write)

    # -- the lock ----------------------------------------------------------------------------------
    def _scopes(self) -> list[tuple[str, bool]]:
        """(scope, shared) of the advisory locks this store's runs take."""
        if self.shard is None:
            return [("installation", False)]
        return [("installation", True), (f"shard {self.shard}", False)]

    @contextlib.asynccontextmanager
    async def lock(self, command: str) -> AsyncIterator[RunLockGrant]:
        """The run lock (see the module docstring): ``LockHeld`` at once when another live
        session holds it; the grant names a dead holder whose lock it took over."""
        import psycopg

        conn = await self._connect()
        me = holder_now(command, self.installation)
        inst = self.installation.id
        previous: Holder | None = None
        try:
            cur = await conn.execute("SELECT pg_backend_pid()")
            backend = int((await cur.fetchone())[0])
            for scope, shared in self._scopes():
                fn = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
                cur = await conn.execute(f"SELECT {fn}(%s, %s)", (_key(inst), _key(scope)))
                if not (await cur.fetchone())[0]:
                    raise LockHeld(f"{self.where}, installation {inst}", await self._live_holder(conn, scope))
            for scope, _ in self._scopes():
                # Rows whose session is gone were left by holders that died: taken over.
                cur = await conn.execute(
                    "DELETE FROM run_locks WHERE installation=%s AND scope=%s AND backend_pid NOT IN"
                    " (SELECT pid FROM pg_stat_activity) RETURNING host, pid, since, command, base_url, heartbeat",
                    (inst, scope))
                for row in await cur.fetchall():
                    if previous is None or row[2] > previous.since:
                        previous = Holder(row[0], int(row[1]), float(row[2]), row[3], row[4], float(row[5]))
                await conn.execute(
                    "INSERT INTO run_locks VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                    (inst, scope, backend, me.command, me.host, me.pid, me.base_url, me.since, time.time()))
        except psycopg.Error as exc:
            await conn.close()
            raise self._error(exc) from None
        except BaseException:
            await conn.close()
            raise

        async def beat() -> None:
            while True:
                await anyio.sleep(LOCK_HEARTBEAT)
                with contextlib.suppress(psycopg.Error):
                    await conn.execute("UPDATE run_locks SET heartbeat=%s WHERE installation=%s AND backend_pid=%s",
                                       (time.time(), inst, backend))

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(beat)
                try:
                    yield RunLockGrant(me, previous)
                finally:
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                with contextlib.suppress(psycopg.Error):
                    await conn.execute("DELETE FROM run_locks WHERE installation=%s AND backend_pid=%s",
                                       (inst, backend))
                # Closing the session frees its advisory locks, whatever happened above.
                await conn.close()

    async def _live_holder(self, conn: Any, scope: str) -> Holder | None:
        """The newest holder row of ``scope`` (or, for the installation's scope, of any) whose session is alive."""
        cur = await conn.execute(
            "SELECT host, pid, since, command, base_url, heartbeat FROM run_locks WHERE installation=%s"
            " AND (scope=%s OR %s = 'installation') AND backend_pid IN (SELECT pid FROM pg_stat_activity)"
            " ORDER BY since DESC LIMIT 1", (self.installation.id, scope, scope))
        row = await cur.fetchone()
        return Holder(row[0], int(row[1]), float(row[2]), row[3], row[4], float(row[5])) if row else None

    # -- the fleet ---------------------------------------------------------------------------------
    async def reserve(self, shards: int, amounts: Mapping[str, int], limits: Mapping[str, int], *,
                      round_id: str | None = None, window: float = 600.0) -> Reservation:
        inst = self.installation.id

        async def write(conn: Any) -> Reservation:
            # One reservation at a time per installation: the check and the update are atomic.
            await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_key(inst), _key("fleet allowance")))
            cur = await conn.execute(f"SELECT {NOW}")
            now = float((await cur.fetchone())[0])
            cur = await conn.execute("SELECT round, opened FROM fleet_rounds WHERE installation=%s AND shards=%s"
                                     " ORDER BY opened DESC LIMIT 1", (inst, shards))
            name, opened = decide_round(round_id, await cur.fetchone(), shards, now, window)
            if opened:
                await conn.execute("INSERT INTO fleet_rounds VALUES (%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                                   (inst, name, shards, now))
            cur = await conn.execute("SELECT rule, used FROM fleet_allowance WHERE installation=%s AND round=%s",
                                     (inst, name))
            used = {rule: int(n) for rule, n in await cur.fetchall()}
            answer = reservation_of(name, amounts, limits, used)
            if answer.granted:
                for rule, amount in amounts.items():
                    await conn.execute(
                        "INSERT INTO fleet_allowance VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (installation, round, rule)"
                        " DO UPDATE SET used = fleet_allowance.used + excluded.used, at = excluded.at",
                        (inst, name, rule, amount, limits.get(rule, 0), now))
            return answer
        return await self._write(write)

    def fleet_member(self, rate: float, concurrency: int,
                     on_share: Any) -> contextlib.AbstractAsyncContextManager[None]:
        return FleetMember(self, rate, concurrency, on_share).run()

    async def fleet_join(self, member: str, ttl: float) -> None:
        async def write(conn: Any) -> None:
            await conn.execute(f"INSERT INTO fleet_members VALUES (%s,%s,%s,{NOW},{NOW} + %s) ON CONFLICT DO NOTHING",
                               (self.installation.id, member, self.shard, ttl))
        await self._write(write)

    async def fleet_beat(self, member: str, ttl: float) -> int:
        async def write(conn: Any) -> int:
            await conn.execute(f"UPDATE fleet_members SET expires={NOW} + %s WHERE installation=%s AND member=%s",
                               (ttl, self.installation.id, member))
            cur = await conn.execute(f"SELECT COUNT(*) FROM fleet_members WHERE installation=%s AND expires > {NOW}",
                                     (self.installation.id,))
            return int((await cur.fetchone())[0])
        return await self._write(write)

    async def fleet_leave(self, member: str) -> None:
        async def write(conn: Any) -> None:
            await conn.execute("DELETE FROM fleet_members WHERE installation=%s AND member=%s",
                               (self.installation.id, member))
        await self._write(write)

    # -- retention ---------------------------------------------------------------------------------
    async def prune(self, policy: RetentionPolicy | None = None, *, now: float | None = None) -> PruneResult:
        policy = policy or self.retention
        at = self.clock() if now is None else now
        cutoff, inst = at - policy.older_than, self.installation.id
        runs = operations = 0
        while True:
            kept = await self._rows("SELECT id FROM runs WHERE installation=%s ORDER BY id DESC LIMIT 1 OFFSET %s",
                                    (inst, max(0, policy.keep - 1)))
            newest = await self._rows("SELECT MAX(id) FROM runs WHERE installation=%s", (inst,))
            ids = [int(r[0]) for r in await self._rows(
                "SELECT id FROM runs WHERE installation=%s AND id != %s AND (started < %s OR id < %s) ORDER BY id"
                " LIMIT %s", (inst, newest[0][0] or 0, cutoff, kept[0][0] if kept else 0, CHUNK))]
            if not ids:
                break

            async def delete(conn: Any, ids: list[int] = ids) -> int:
                cur = await conn.execute("DELETE FROM operations WHERE run_id = ANY(%s)", (ids,))
                n = cur.rowcount
                await conn.execute("DELETE FROM runs WHERE id = ANY(%s)", (ids,))
                return int(n)
            operations += await self._write(delete)
            runs += len(ids)

        async def rest(conn: Any) -> int:
            cur = await conn.execute("DELETE FROM drift_states WHERE installation=%s AND last_seen < %s",
                                     (inst, cutoff))
            n = cur.rowcount
            await conn.execute("DELETE FROM fleet_rounds WHERE installation=%s AND opened < %s", (inst, at - 86400))
            await conn.execute("DELETE FROM status_cycles WHERE installation=%s AND at < %s", (inst, cutoff))
            await conn.execute("DELETE FROM status_recurring WHERE installation=%s AND last_at < %s", (inst, cutoff))
            await conn.execute("DELETE FROM fleet_allowance WHERE installation=%s AND at < %s", (inst, at - 86400))
            await conn.execute(f"DELETE FROM fleet_members WHERE installation=%s AND expires < {NOW} - 3600", (inst,))
            await conn.execute("INSERT INTO store_meta VALUES (%s, 'last_prune', %s) ON CONFLICT (installation, key)"
                               " DO UPDATE SET value=excluded.value", (inst, str(at)))
            return int(n)
        drift = await self._write(rest)
        return PruneResult(runs, operations, drift)

    async def maybe_prune(self, policy: RetentionPolicy | None = None) -> PruneResult | None:
        rows = await self._rows("SELECT value FROM store_meta WHERE installation=%s AND key='last_prune'",
                                (self.installation.id,))
        if rows and self.clock() - float(rows[0][0]) < PRUNE_EVERY:
            return None
        return await self.prune(policy)


async def _nothing(conn: Any) -> None:
    return None
