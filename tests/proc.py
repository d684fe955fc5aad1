"""Helpers for tests that run hygge as real processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HYGGE = [sys.executable, "-m", "hygge"]


def unprivileged() -> list[str]:
    """The command prefix that makes file modes bind: as root (as the tests run here), root
    without its capabilities, so a folder of mode 555 refuses it as it refuses any user."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        import pytest

        pytest.skip("setpriv (util-linux) is needed to drop root's capabilities")
    return ["setpriv", "--bounding-set=-all", "--"]


def run(
    root: Path, *args: str, env: dict[str, str] | None = None, prefix: list[str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*(prefix or []), *HYGGE, *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(
    root: Path, *args: str, env: dict[str, str] | None = None, prefix: list[str] | None = None
) -> subprocess.Popen:
    return subprocess.Popen(
        [*(prefix or []), *HYGGE, *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_paused(
    root: Path,
    marker: Path,
    *args: str,
    point: str = "after_batch",
    prefix: list[str] | None = None,
) -> subprocess.Popen:
    """Start `hygge ARGS` and return once it is held at the failpoint (marker exists)."""
    env = {"HYGGE_FAILPOINT": f"{point}:pause", "HYGGE_FAILPOINT_FILE": str(marker)}
    process = start(root, *args, env=env, prefix=prefix)
    wait_for(marker, process)
    return process


def go_beside_a_paused_go(
    paused: Path, other: Path, marker: Path
) -> tuple[int, int, subprocess.CompletedProcess]:
    """`hygge go` in `other` while a `hygge go` in `paused` is held at its failpoint, which is
    then let go: the held run's pid and exit code, and the other run."""
    held = start_paused(paused, marker, "go")
    beside = run(other, "go")
    marker.unlink()
    return held.pid, finish(held)[0], beside


def wait_for(marker: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never reached its failpoint"
        time.sleep(0.01)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def history(root: Path) -> list[dict]:
    result = run(root, "history", "--json", "--limit", "1000")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
