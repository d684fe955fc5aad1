"""Named failpoints for crash tests with real processes.

`HYGGE_FAILPOINT=NAME` makes the process exit hard (status 99, no cleanup) when it reaches
NAME, as a kill -9 would. `HYGGE_FAILPOINT=NAME:pause` instead creates the file named by
`HYGGE_FAILPOINT_FILE` and waits until that file is deleted, so a test can act (send a
signal, start a second run) while the run is held at a known point; a process pauses
once, then runs on. Unset: no effect.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

CRASH_STATUS = 99
_PAUSE_LIMIT_SECONDS = 60.0
_paused: set[str] = set()
_lock = threading.Lock()


def failpoint(name: str) -> None:
    wanted = os.environ.get("HYGGE_FAILPOINT")
    if not wanted:
        return
    point, _, action = wanted.partition(":")
    if point != name:
        return
    if action == "pause":
        with _lock:
            if name in _paused:
                return
            _paused.add(name)
        _pause(Path(os.environ["HYGGE_FAILPOINT_FILE"]))
    else:
        os._exit(CRASH_STATUS)


def _pause(marker: Path) -> None:
    marker.touch()
    deadline = time.monotonic() + _PAUSE_LIMIT_SECONDS
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
