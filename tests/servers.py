"""What the throwaway database servers of the tests share (tests/pg.py, tests/mariadb.py).

A server runs as its unprivileged owner when the tests run as root (the servers refuse root),
listens on a free 127.0.0.1 port, and is waited for until it answers. Its session fixture
fails the tests that need it in CI (CI=true) when it cannot start; elsewhere they are skipped,
saying why.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


class ServerUnavailable(Exception):
    """The server could not be started here (no binaries, no user, a failed start)."""


def as_owner(owner: str | None, *command: str) -> list[str]:
    """Run as the server's owner when we are root; as ourselves otherwise."""
    return ["runuser", "-u", owner, "--", *command] if owner else list(command)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def owner(user: str) -> str | None:
    """The user to run the server as: `user` when we are root (it must exist), else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(user)
    except KeyError:
        raise ServerUnavailable(f"no '{user}' user to run the server as (useradd {user})") from None
    return user


def wait_ready(
    name: str, home: Path, server: subprocess.Popen[bytes], ready: Callable[[], bool], pause: float
) -> None:
    """Poll `ready` every `pause` seconds for a minute; fail early when the server exits."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = (home / "server.log").read_text(errors="replace")
            raise ServerUnavailable(f"{name} exited with {server.returncode}: {log[-2000:]}")
        if ready():
            return
        time.sleep(pause)
    raise ServerUnavailable(f"{name} did not become ready within 60s")


def reap(server: subprocess.Popen[bytes]) -> None:
    """Wait up to 30s for a server told to stop; kill it if it is still running."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=30)
    if server.poll() is None:
        server.kill()
        server.wait()


def session_url(
    name: str, running_server: Callable[[], contextlib.AbstractContextManager[str]]
) -> Iterator[str]:
    """The body of a session fixture: a live server's URL, failing in CI when it cannot start."""
    try:
        server = running_server()
        url = server.__enter__()
    except ServerUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} server unavailable in CI: {exc}")
        pytest.skip(f"{name} server unavailable: {exc}")
    try:
        yield url
    finally:
        server.__exit__(None, None, None)
