"""Swap a staged folder with a destination folder on a local disk (a file store's full_drop).

On Linux one syscall does it atomically: renameat2(RENAME_EXCHANGE), so a reader sees the old
folder or the new one. Where that call is missing (macOS, Windows) or the filesystem refuses
it, two renames and a third: the destination moves aside, the staged folder moves in, the old
copy moves to where the staged one was. A reader between the first two finds no folder for an
instant, and a crash there leaves the old copy aside: `restore` puts it back, and a file
store calls it before anything else touches its destination (the next run's recovery), so a
crash at any step leaves the old copy or the new one.

`HYGGE_FOLDER_SWAP=two-step` forces the fallback, for tests on Linux.
"""

from __future__ import annotations

import ctypes
import errno
import os
from functools import cache
from typing import Any

from hygge.errors import StoreError
from hygge.failpoints import failpoint

FORCE_ENV = "HYGGE_FOLDER_SWAP"
ASIDE = ".hygge-aside"  # after `.<name>` beside the destination: a staging name, as cleaned
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_REFUSED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}  # kernel or filesystem says no


def swap(staged: str, target: str) -> None:
    """Make `staged` the content of `target`; the old content ends at `staged`. Both exist."""
    exchange = None if os.environ.get(FORCE_ENV) == "two-step" else _renameat2()
    if exchange is not None:
        a, b = os.fsencode(staged), os.fsencode(target)
        if exchange(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in _REFUSED:
            raise StoreError(f"cannot swap {staged} and {target}: {os.strerror(code)}")
    _two_step(staged, target)


def aside_path(target: str) -> str:
    """Where the two-step swap keeps the old copy between its renames."""
    parent, name = os.path.split(target.rstrip("/\\"))
    return os.path.join(parent, f".{name}{ASIDE}")


def restore(target: str) -> bool:
    """Put back a destination a crash left aside between the first two renames; True if so.
    An aside copy beside an existing destination is only a leftover (the swap went through)."""
    aside = aside_path(target)
    if os.path.isdir(aside) and not os.path.lexists(target):
        os.rename(aside, target)
        return True
    return False


def _two_step(staged: str, target: str) -> None:
    aside = aside_path(target)
    os.rename(target, aside)
    failpoint("swap_aside")
    os.rename(staged, target)
    failpoint("swap_in")
    os.rename(aside, staged)


@cache
def _renameat2() -> Any:
    """libc's renameat2, or None where there is none (macOS, Windows, an old libc). The C
    library is the one the interpreter has loaded (finding it by name would run ldconfig)."""
    if os.name == "nt":
        return None
    return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
