"""A throwaway PostgreSQL server for the tests: initdb in a temp dir, loopback only.

The server runs as the unprivileged `postgres` user when the tests run as root (initdb and
postgres refuse root), listens on a free 127.0.0.1 port, keeps its socket in its own temp
dir, and is stopped and deleted when the session ends. Durability is switched off: a test
server that loses its data on a power cut loses nothing anyone needs. The test user may
create roles (tests of passwords that URLs mangle log in as roles of their own). In CI
(CI=true) a server that cannot start fails the tests that need it; elsewhere they are
skipped, saying why (the parts every test server shares: tests/servers.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers
from tests.servers import ServerUnavailable, as_owner

__all__ = ["ServerUnavailable", "postgres_url", "running_server"]

BIN = Path(os.environ.get("HYGGE_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER, PASSWORD, DATABASE = "hygge", "hygge-test-pw", "hygge"


def _run(user: str | None, *command: str) -> None:
    done = subprocess.run(as_owner(user, *command), capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise ServerUnavailable(f"{command[0]} failed: {(done.stderr or done.stdout).strip()}")


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    """Start a server and yield `postgresql://user:pass@127.0.0.1:PORT/db`."""
    if not (BIN / "postgres").is_file():
        raise ServerUnavailable(f"no PostgreSQL binaries in {BIN} (apt-get install postgresql-15)")
    user = servers.owner("postgres")
    home = Path(tempfile.mkdtemp(prefix="hygge-pg-"))
    data = home / "data"
    if user:
        shutil.chown(home, user, user)
    server: subprocess.Popen[bytes] | None = None
    try:
        _run(user, str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")  # fmt: skip
        port = servers.free_port()
        with (home / "server.log").open("wb") as log:
            server = subprocess.Popen(
                as_owner(user, str(BIN / "postgres"), "-D", str(data), "-p", str(port),
                         "-c", "listen_addresses=127.0.0.1",
                         "-c", f"unix_socket_directories={home}",
                         "-c", "fsync=off", "-c", "synchronous_commit=off",
                         "-c", "full_page_writes=off", "-c", "max_connections=100"),
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        is_ready = as_owner(user, str(BIN / "pg_isready"), "-q", "-h", str(home), "-p", str(port))
        servers.wait_ready(
            "postgres",
            home,
            server,
            lambda: subprocess.run(is_ready, capture_output=True).returncode == 0,
            pause=0.1,
        )
        psql = [str(BIN / "psql"), "-h", str(home), "-p", str(port), "-U", "postgres"]
        _run(user, *psql, "-v", "ON_ERROR_STOP=1", "-c",
             f"CREATE USER {USER} CREATEROLE PASSWORD '{PASSWORD}'")  # fmt: skip
        _run(user, *psql, "-c", f"CREATE DATABASE {DATABASE} OWNER {USER}")
        yield f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if server is not None:
            with contextlib.suppress(Exception):
                _run(user, str(BIN / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate")
            servers.reap(server)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A live server's URL for the whole session; fails in CI when it cannot start."""
    yield from servers.session_url("PostgreSQL", running_server)
