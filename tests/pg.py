"""A throwaway PostgreSQL server for the tests: initdb in a temp dir, loopback only.

The server runs as the unprivileged `postgres` user when the tests run as root (initdb and
postgres refuse root), listens on a free 127.0.0.1 port, keeps its socket in its own temp
dir, and is stopped and deleted when the session ends. Durability is switched off: a test
server that loses its data on a power cut loses nothing anyone needs. In CI (CI=true) a
server that cannot start fails the tests that need it; elsewhere they are skipped, saying why.
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

BIN = Path(os.environ.get("HYGGE_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER, PASSWORD, DATABASE = "hygge", "hygge-test-pw", "hygge"


class ServerUnavailable(Exception):
    """The server could not be started here (no binaries, no user, a failed start)."""


def _as_owner(owner: str | None, *command: str) -> list[str]:
    """Run as the server's owner when we are root; as ourselves otherwise."""
    return ["runuser", "-u", owner, "--", *command] if owner else list(command)


def _run(owner: str | None, *command: str) -> None:
    done = subprocess.run(_as_owner(owner, *command), capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise ServerUnavailable(f"{command[0]} failed: {(done.stderr or done.stdout).strip()}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _owner() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable(
            "no 'postgres' user to run the server as (useradd postgres)"
        ) from None
    return "postgres"


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    """Start a server and yield `postgresql://user:pass@127.0.0.1:PORT/db`."""
    if not (BIN / "postgres").is_file():
        raise ServerUnavailable(f"no PostgreSQL binaries in {BIN} (apt-get install postgresql-15)")
    owner = _owner()
    home = Path(tempfile.mkdtemp(prefix="hygge-pg-"))
    data = home / "data"
    if owner:
        shutil.chown(home, owner, owner)
    server: subprocess.Popen[bytes] | None = None
    try:
        _run(owner, str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")  # fmt: skip
        port = _free_port()
        with (home / "server.log").open("wb") as log:
            server = subprocess.Popen(
                _as_owner(owner, str(BIN / "postgres"), "-D", str(data), "-p", str(port),
                          "-c", "listen_addresses=127.0.0.1",
                          "-c", f"unix_socket_directories={home}",
                          "-c", "fsync=off", "-c", "synchronous_commit=off",
                          "-c", "full_page_writes=off", "-c", "max_connections=100"),
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_ready(owner, home, port, server)
        psql = [str(BIN / "psql"), "-h", str(home), "-p", str(port), "-U", "postgres"]
        _run(owner, *psql, "-v", "ON_ERROR_STOP=1", "-c",
             f"CREATE USER {USER} PASSWORD '{PASSWORD}'")  # fmt: skip
        _run(owner, *psql, "-c", f"CREATE DATABASE {DATABASE} OWNER {USER}")
        yield f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if server is not None:
            with contextlib.suppress(Exception):
                _run(owner, str(BIN / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate")
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=30)
            if server.poll() is None:
                server.kill()
                server.wait()
        shutil.rmtree(home, ignore_errors=True)


def _wait_ready(owner: str | None, home: Path, port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = (home / "server.log").read_text(errors="replace")
            raise ServerUnavailable(f"postgres exited with {server.returncode}: {log[-2000:]}")
        ready = subprocess.run(
            _as_owner(owner, str(BIN / "pg_isready"), "-q", "-h", str(home), "-p", str(port)),
            capture_output=True,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    raise ServerUnavailable("postgres did not become ready within 60s")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A live server's URL for the whole session; fails in CI when it cannot start."""
    try:
        server = running_server()
        url = server.__enter__()
    except ServerUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL server unavailable in CI: {exc}")
        pytest.skip(f"PostgreSQL server unavailable: {exc}")
    try:
        yield url
    finally:
        server.__exit__(None, None, None)
