"""A throwaway MariaDB server for the tests: mariadb-install-db in a temp dir, loopback only.

Like tests/pg.py: the server runs as the unprivileged `mysql` user when the tests run as root
(mariadbd refuses root), listens on a free 127.0.0.1 port with its socket in its own temp dir,
and is stopped and deleted when the session ends. Durability is off (no fsync per commit):
a test server that loses its data on a power cut loses nothing anyone needs. `--local-infile`
lets the store's LOAD DATA LOCAL fast path run. In CI (CI=true) a server that cannot start
fails the tests that need it; elsewhere they are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

USER, PASSWORD, DATABASE = "hygge", "hygge-test-pw", "hygge"


class ServerUnavailable(Exception):
    """The server could not be started here (no binaries, no user, a failed start)."""


def _as_owner(owner: str | None, *command: str) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else list(command)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _owner() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("mysql")
    except KeyError:
        raise ServerUnavailable("no 'mysql' user to run the server as (useradd mysql)") from None
    return "mysql"


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
    owner = _owner()
    home = Path(tempfile.mkdtemp(prefix="hygge-mariadb-"))
    home.chmod(0o755)
    if owner:
        shutil.chown(home, owner, owner)
    server: subprocess.Popen[bytes] | None = None
    try:
        init = subprocess.run(
            _as_owner(owner, "mariadb-install-db", f"--datadir={home / 'data'}",
                      f"--user={owner or pwd.getpwuid(os.geteuid()).pw_name}",
                      "--auth-root-authentication-method=normal", "--skip-test-db"),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if init.returncode:
            raise ServerUnavailable(f"mariadb-install-db failed: {init.stderr or init.stdout}")
        port = _free_port()
        with (home / "server.log").open("wb") as log:
            server = subprocess.Popen(
                _as_owner(owner, "mariadbd", "--no-defaults", f"--datadir={home / 'data'}",
                          f"--socket={home / 'sock'}", f"--pid-file={home / 'pid'}",
                          "--bind-address=127.0.0.1", f"--port={port}", "--local-infile=1",
                          "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin",
                          "--innodb-buffer-pool-size=64M", "--max-connections=200"),
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_ready(home, server)
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
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=30)
            if server.poll() is None:
                server.kill()
                server.wait()
        shutil.rmtree(home, ignore_errors=True)


def _wait_ready(home: Path, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = (home / "server.log").read_text(errors="replace")
            raise ServerUnavailable(f"mariadbd exited with {server.returncode}: {log[-2000:]}")
        if _client(home, "SELECT 1").returncode == 0:
            return
        time.sleep(0.2)
    raise ServerUnavailable("mariadbd did not become ready within 60s")


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """A live server's URL for the whole session; fails in CI when it cannot start."""
    try:
        server = running_server()
        url = server.__enter__()
    except ServerUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"MariaDB server unavailable in CI: {exc}")
        pytest.skip(f"MariaDB server unavailable: {exc}")
    try:
        yield url
    finally:
        server.__exit__(None, None, None)
