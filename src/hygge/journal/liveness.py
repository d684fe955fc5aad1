"""Whether the process that wrote a running run is still alive, on this host.

A pid alone cannot say: once a process dies, the kernel gives its pid to the next one, and a
dead run would look alive for as long as that stranger lives. So a run also records when its
process started (`process_start`), and a live pid counts only if it started then too.
"""

from __future__ import annotations

import os
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_START_TIME = 19  # starttime, field 22 of /proc/<pid>/stat, counted after the `(comm)` field


def process_start(pid: int) -> str | None:
    """When process pid started, as opaque text that no later process shares; None if unknown.

    On Linux: the boot's id and the start in clock ticks since boot (1/100 s: a pid comes
    back only after the kernel has handed out all the others, never within one tick).
    Elsewhere None, and the pid alone decides.
    """
    try:
        stat = _stat(pid)
        boot = _BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return f"{boot}/{fields[_START_TIME]}" if len(fields) > _START_TIME else None


def process_alive(pid: int, started: str | None) -> bool:
    """Whether pid is still the process that recorded `started` (None: the pid alone decides).

    Conservative: when unsure, alive.
    """
    if not pid_alive(pid):
        return False
    if started is None:
        return True
    now = process_start(pid)
    return now is None or now == started


def pid_alive(pid: int) -> bool:
    """Whether some process `pid` of this host may still write to the journal (a zombie cannot)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate the process: assume it is alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    try:
        stat = _stat(pid)
    except OSError:  # no /proc (macOS), or it just exited
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _stat(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
