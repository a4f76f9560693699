"""A real PostgreSQL server for the tests, started by the tests themselves.

The server is PostgreSQL's own binaries (``/usr/lib/postgresql/<version>/bin``): ``initdb`` in
a temporary directory, ``postgres`` listening on 127.0.0.1 only, on a free port, its socket in
that directory, for the whole session; stopped by its PID at the end (a fast shutdown, then a
kill if it does not go). Running as root (as CI does), the server runs as an unprivileged
user (``nobody``), since PostgreSQL refuses to run as root.

Without the binaries the tests that need the server are skipped, with one line saying how to
get them; with ``CI`` set they are installed (``apt-get install postgresql``) and, if that
fails, the tests fail rather than skip: CI must run them.

Each test gets a database of its own (``pg_url``); the server has a password (scram), so the
tests can check that it never shows.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness.once import machine_wide
from tests.harness.processes import free_port

USER = "orchestrator"
PASSWORD = "pg-Secret-" + uuid.uuid4().hex[:12]  # a password the tests look for in every output
START_WITHIN = 60.0  # seconds: a bound of the wait for the server, never a timing assertion
HOW = ("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: install them (apt-get install postgresql) "
       "to run the PostgreSQL store's tests; CI installs them itself")


def binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with ``initdb`` and ``postgres``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3])
                   if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _install() -> None:
    """CI only: ``apt-get install postgresql`` (as root), bounded."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=False, env=env, timeout=600, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "postgresql"], check=False, env=env,
                   timeout=900, stdout=subprocess.DEVNULL)


@dataclass
class PostgresServer:
    """A running server: ``url(db)`` for a database of it; ``database()`` makes a fresh one."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    bin: Path

    def url(self, database: str = "postgres", *, password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database; its URL (with the password)."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server by its PID (the process is postgres itself, not a wrapper that could
        exit and leave it running) and remove its directory."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)


def _as_user(user: str | None) -> dict[str, Any]:
    """Popen's arguments that run the child as ``user`` (root may not run PostgreSQL): the
    child changes its own identity, so its PID is the server's."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def start_server() -> PostgresServer:
    """initdb + postgres in a temporary directory, on 127.0.0.1 and a free port."""
    bin_dir = binaries()
    if bin_dir is None and os.environ.get("CI"):
        with machine_wide("apt"):
            if binaries() is None:  # another worker may have installed it meanwhile
                _install()
        bin_dir = binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL store's tests, and could not install PostgreSQL: {HOW}")
        pytest.skip(HOW)
    user = "nobody" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="orchestrator-pg-"))
    data = directory / "data"
    pwfile = directory / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if user:
        entry = pwd.getpwnam(user)
        for path in (directory, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    log = directory / "server.log"
    subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=scram-sha-256",
                    f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=120, cwd=directory, **_as_user(user))
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(directory),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=out, stderr=subprocess.STDOUT, cwd=directory, **_as_user(user))
    server = PostgresServer(port, directory, process, bin_dir)
    _wait_ready(server, log)
    return server


def _wait_ready(server: PostgresServer, log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + START_WITHIN
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited: {log.read_text()[-2000:]}")
        try:
            with psycopg.connect(server.url(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"postgres did not answer within {START_WITHIN:.0f} s: "
                                   f"{log.read_text()[-2000:]}") from None
            time.sleep(0.05)  # poll interval of a bounded wait for the server to start


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (skipped without the binaries, outside CI)."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(server.directory)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """The URL (password included) of a fresh database on the session's server."""
    return postgres_server.database()
