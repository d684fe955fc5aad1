"""A throwaway MariaDB server for the tests: mariadb-install-db in a temp dir, loopback only.

Like tests/pg.py: the server runs as the unprivileged `mysql` user when the tests run as root
(mariadbd refuses root), listens on a free 127.0.0.1 port with its socket in its own temp dir,
and is stopped and deleted when the session ends. Durability is off (no fsync per commit):
a test server that loses its data on a power cut loses nothing anyone needs. `--local-infile`
lets the store's LOAD DATA LOCAL fast path run. In CI (CI=true) a server that cannot start
fails the tests that need it; elsewhere they are skipped, saying why (the parts every test
server shares: tests/servers.py).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pytest

from tests import servers
from tests.servers import ServerUnavailable, as_owner

__all__ = ["ServerUnavailable", "connect", "mariadb_url", "running_server"]

USER, PASSWORD, DATABASE = "hygge", "hygge-test-pw", "hygge"


def connect(url: str) -> Any:
    """A client connection (autocommit, utf8mb4) to the database of a `mysql://` URL."""
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname, port=parts.port, user=parts.username, password=parts.password,
        database=parts.path.lstrip("/"), autocommit=True, charset="utf8mb4",
    )  # fmt: skip


def _client(home: Path, sql: str) -> subprocess.CompletedProcess[str]:
    """Run sql as the server's root over its socket (unix_socket auth needs no password)."""
    return subprocess.run(
        ["mariadb", f"--socket={home / 'sock'}", "--user=root", "-e", sql],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    """Start a server and yield `mysql://user:pass@127.0.0.1:PORT/db`."""
    if shutil.which("mariadbd", path="/usr/sbin:/usr/bin") is None:
        raise ServerUnavailable("no mariadbd (apt-get install mariadb-server)")
    user = servers.owner("mysql")
    home = Path(tempfile.mkdtemp(prefix="hygge-mariadb-"))
    home.chmod(0o755)
    if user:
        shutil.chown(home, user, user)
    server: subprocess.Popen[bytes] | None = None
    try:
        init = subprocess.run(
            as_owner(user, "mariadb-install-db", f"--datadir={home / 'data'}",
                     f"--user={user or pwd.getpwuid(os.geteuid()).pw_name}",
                     "--auth-root-authentication-method=normal", "--skip-test-db"),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if init.returncode:
            raise ServerUnavailable(f"mariadb-install-db failed: {init.stderr or init.stdout}")
        port = servers.free_port()
        with (home / "server.log").open("wb") as log:
            server = subprocess.Popen(
                as_owner(user, "mariadbd", "--no-defaults", f"--datadir={home / 'data'}",
                         f"--socket={home / 'sock'}", f"--pid-file={home / 'pid'}",
                         "--bind-address=127.0.0.1", f"--port={port}", "--local-infile=1",
                         "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin",
                         "--innodb-buffer-pool-size=64M", "--max-connections=200"),
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        servers.wait_ready(
            "mariadbd", home, server, lambda: _client(home, "SELECT 1").returncode == 0, pause=0.2
        )
        done = _client(
            home,
            f"CREATE DATABASE {DATABASE}; CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';"
            f" GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%';",
        )
        if done.returncode:
            raise ServerUnavailable(f"creating the test user failed: {done.stderr}")
        yield f"mysql://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if server is not None:
            server.terminate()  # SIGTERM is mariadbd's clean shutdown
            servers.reap(server)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """A live server's URL for the whole session; fails in CI when it cannot start."""
    yield from servers.session_url("MariaDB", running_server)
