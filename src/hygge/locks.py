"""Entity and destination locks: kernel locks (flock) on files that are never deleted.

portalocker takes them: flock on Linux and macOS, LockFileEx-style locks (msvcrt) on Windows;
on each the kernel drops a lock with its holder's last open descriptor.

The kernel frees a lock when its holder dies, so there are no stale locks to break and no
unlink races. Who holds a lock is written beside it for messages only; ownership is the
kernel's word alone. A forked child closes its copies of the lock descriptors at once, so
it cannot keep its parent's locks alive.

That is the SQLite journal's backend (`FileLocks`), for one machine. A PostgreSQL journal
brings its own (`hygge.journal.advisory`): the coordinator sees only `LockBackend` and
`Claim`, and asks the journal which backend goes with it (`Journal.locks`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import portalocker

from hygge.errors import LockFolderUnusable, LockingUnsupported

if TYPE_CHECKING:
    from hygge.journal.api import Journal

J = TypeVar("J", bound="Journal")
LOCK_DIR = ".hygge/locks"
_open_fds: set[int] = set()
_EFFECTIVE_IDS = os.access in os.supports_effective_ids  # check as the process opens files
_fds_guard = threading.Lock()
_NOW = portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)  # Windows: descriptors are never inherited anyway


_PROJECT_HINT = (
    "hygge keeps the project's entity locks there: make it a folder the user running hygge"
    " can write"
)
_MACHINE_HINT = (
    "HYGGE_LOCK_DIR (default: the system temp folder's hygge-locks/) holds the destination"
    " locks of every project on this machine: make it a folder every user running hygge can"
    " write (mode 1777), or point HYGGE_LOCK_DIR at one"
)


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its holder wrote it down (for messages only)."""

    pid: int
    host: str
    run_id: str
    since: str
    command: str
    entity: str = ""  # the entity run holding it, and its destination as its config names it
    writes: str = ""

    @classmethod
    def me(cls, run_id: str, command: str) -> Holder:
        return cls(
            os.getpid(), socket.gethostname(), run_id, datetime.now(UTC).isoformat(), command
        )

    def describe(self) -> str:
        run = f"pid {self.pid} on {self.host}, run {self.run_id}, since {self.since[:19]}Z"
        entity = f", for {self.entity} writing {self.writes}" if self.entity else ""
        return f"{run} ({self.command}){entity}"


class FileLock:
    """A non-blocking exclusive flock on one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def holder_path(self) -> Path:
        return self.path.with_name(self.path.name + ".holder")

    def try_acquire(self, holder: Holder) -> bool:
        """Take the lock if free; False when someone else holds it."""
        try:  # check_lock_folders said the folder was fine; this is for what changed since
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _CLOEXEC, 0o666)
        except OSError as exc:
            raise LockFolderUnusable(
                f"cannot open lock file {self.path}: {exc.strerror}",
                hint="every user running hygge here must be able to write its lock files",
            ) from exc
        try:
            portalocker.lock(fd, _NOW)
        except portalocker.AlreadyLocked:
            os.close(fd)
            return False
        except portalocker.LockException as exc:
            os.close(fd)
            raise LockingUnsupported(
                f"cannot lock {self.path}: {_reason(exc)}",
                hint="keep .hygge/ on a local disk that supports flock (not every network"
                " mount does)",
            ) from exc
        with _fds_guard:
            _open_fds.add(fd)
        self.fd = fd
        self.holder_path.write_text(json.dumps(asdict(holder)))
        return True

    def release(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        with _fds_guard:
            _open_fds.discard(fd)
        _unlock_and_close(fd)

    def holder(self) -> Holder | None:
        """What the current holder wrote down, if readable."""
        try:
            return Holder(**json.loads(self.holder_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def is_held(self) -> bool:
        """True when some process holds the lock right now."""
        if not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDONLY | _CLOEXEC)  # flock needs no write access
        try:
            portalocker.lock(fd, _NOW)
        except portalocker.LockException:
            os.close(fd)
            return True
        _unlock_and_close(fd)
        return False


def _unlock_and_close(fd: int) -> None:
    """Closing the last descriptor frees a flock at once; Windows frees a lock of a closed
    file only when it gets to it, so the lock is released first."""
    with contextlib.suppress(portalocker.LockException):
        portalocker.unlock(fd)
    os.close(fd)


def _reason(exc: portalocker.LockException) -> str:
    """What the system said, from the OSError portalocker wraps."""
    cause = exc.__cause__
    return (cause.strerror if isinstance(cause, OSError) else None) or str(exc)


@dataclass
class Claim:
    """The locks one entity run takes: its entity, then its destination."""

    locks: tuple[FileLock, ...]

    def try_take(self, holder: Holder) -> str | None:
        """None when every lock is taken; else who holds the first busy one."""
        taken: list[FileLock] = []
        for lock in self.locks:
            if not lock.try_acquire(holder):
                for done in taken:
                    done.release()
                who = lock.holder()
                return who.describe() if who else f"another process ({lock.name})"
            taken.append(lock)
        return None

    def release(self) -> None:
        for lock in reversed(self.locks):
            lock.release()

    def fence(self, journal: J) -> J:
        """The journal the entity run under this claim writes to: the same one, for kernel
        locks (a PostgreSQL claim's checks that its locks are still held)."""
        return journal


class LockBackend(Protocol):
    """Where a project's entity, project and destination locks live."""

    def check(self) -> None:
        """Refuse to start when no lock can be taken (a hygge error saying why)."""

    def claim(self, address: str, target: str) -> Claim:
        """The entity's lock, then its destination's (keyed by the store's `target()`)."""

    def project_claim(self) -> Claim:
        """The project's own lock (options.exclusive)."""

    def held(self) -> list[tuple[str, Holder]]:
        """The project's entity and project locks held now, with their holders."""

    def close(self) -> None:
        """Release what the backend keeps open."""


class FileLocks:
    """Kernel locks on files: entity locks in the project, destination locks machine-wide."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def check(self) -> None:
        check_lock_folders(self.root)

    def claim(self, address: str, target: str) -> Claim:
        return entity_claim(self.root, address, target)

    def project_claim(self) -> Claim:
        return Claim((project_lock(self.root),))

    def held(self) -> list[tuple[str, Holder]]:
        return held_locks(self.root)

    def close(self) -> None:
        pass


def entity_claim(root: Path, address: str, target: str) -> Claim:
    """The entity's lock, then its destination's, keyed by the store's `target()`."""
    return Claim((entity_lock(root, address), destination_lock(target)))


def held_locks(root: Path) -> list[tuple[str, Holder]]:
    """The project's entity (and project) locks held now, with what their holders wrote."""
    held = []
    for path in sorted((root / LOCK_DIR).glob("*.lock")):
        lock = FileLock(path)
        if lock.is_held():
            who = lock.holder() or Holder(0, "?", "?", "?", "?")
            held.append((path.stem, who))
    return held


def check_lock_folders(root: Path) -> None:
    """Refuse to start (LockFolderUnusable) unless both lock folders can take new locks."""
    _ready_folder(root / LOCK_DIR, _PROJECT_HINT)
    _machine_lock_dir()


def entity_lock(root: Path, address: str) -> FileLock:
    return FileLock(root / LOCK_DIR / f"{address}.lock")


def project_lock(root: Path) -> FileLock:
    return FileLock(root / LOCK_DIR / "_project.lock")


def destination_lock(target: str) -> FileLock:
    """One lock per destination on this machine, whatever project or connection name writes
    it: `target` is the store's identity of what it writes (`Store.target()`)."""
    digest = hashlib.sha256(target.encode()).hexdigest()[:32]
    return FileLock(_machine_lock_dir() / f"{digest}.lock")


def lock_key(*parts: str) -> int:
    """A PostgreSQL advisory lock's key (a signed 64-bit integer) from the parts naming it."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _machine_lock_dir() -> Path:
    folder = Path(os.environ.get("HYGGE_LOCK_DIR") or Path(tempfile.gettempdir()) / "hygge-locks")
    if not folder.is_dir():
        _ready_folder(folder, _MACHINE_HINT)
        with contextlib.suppress(OSError):  # another user may have created it just now
            folder.chmod(0o1777)  # shared by every user, like /tmp
    return _ready_folder(folder, _MACHINE_HINT)


def _ready_folder(folder: Path, hint: str) -> Path:
    """folder, created if missing; LockFolderUnusable if it cannot hold new lock files."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise LockFolderUnusable(
            f"lock folder {folder} exists but is not a folder", hint=hint
        ) from exc
    except OSError as exc:
        raise LockFolderUnusable(
            f"lock folder {folder} cannot be created: {exc.strerror}", hint=hint
        ) from exc
    if not os.access(folder, os.W_OK | os.X_OK, effective_ids=_EFFECTIVE_IDS):
        raise LockFolderUnusable(f"lock folder {folder} is not writable by this user", hint=hint)
    return folder


def _close_in_child() -> None:
    """After fork, drop the child's copies so only the parent's keep the locks."""
    for fd in list(_open_fds):
        with contextlib.suppress(OSError):
            os.close(fd)
    _open_fds.clear()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_close_in_child)
