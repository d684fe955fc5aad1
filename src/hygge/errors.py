"""The whole error tree, and the exit statuses, of hygge: every failure a user can see is one
of these classes.

    HyggeError                    exit 1
    ├── UsageError                exit 2: bad command line or config, nothing ran
    │   ├── ConfigError
    │   │   └── NeedsWatermark    an incremental entity without a watermark
    │   ├── SelectionError
    │   └── MissingDriverError
    ├── EntityError               exit 1: one entity failed, the others go on
    │   ├── SourceError
    │   ├── StoreError
    │   ├── WatermarkError
    │   ├── CheckFailed           a data check found bad rows: nothing published
    │   └── RetryableError        retried with backoff
    │       └── PoolTimeout
    ├── JournalError              exit 1
    ├── LockingUnsupported        exit 2
    ├── LockFolderUnusable        exit 2
    └── Interrupted               exit 130

The CLI turns a HyggeError into its message (plus hint) and its exit code; anything else
is a bug and shows a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a `hygge` process exits with (a failpoint's simulated crash has its own status)."""

    OK = 0
    FAILED = 1  # an entity failed, or a check found problems
    USAGE = 2  # bad command line or config: nothing ran
    HELD = 75  # nothing failed, but entities another run holds were skipped (EX_TEMPFAIL)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM)


class HyggeError(Exception):
    """Base of every hygge error. `hint` says what to do about it."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(HyggeError):
    """Bad command line or config: nothing ran (exit 2)."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A project file is wrong; the message names the file, line and key."""


class NeedsWatermark(ConfigError):
    """An entity asked to run incrementally has no watermark (nor new_files_only)."""


class SelectionError(UsageError):
    """A --flow/--entity selection matched nothing or is malformed."""


class MissingDriverError(UsageError):
    """A plugin needs an optional package that is not installed."""


class EntityError(HyggeError):
    """One entity failed at run time; the others go on."""


class SourceError(EntityError):
    """The home could not be read (missing path, unparsable file, ...)."""


class StoreError(EntityError):
    """The store could not be written or published."""


class WatermarkError(EntityError):
    """The watermark column and a stored or configured value do not fit together."""


class CheckFailed(EntityError):
    """A data check (`checks:`) failed: the load was aborted before publishing."""


class RetryableError(EntityError):
    """A transient failure (network, lock timeout): the flow retries it with backoff."""


class PoolTimeout(RetryableError):
    """Every connection of a pool stayed busy for the whole acquire timeout."""


class JournalError(HyggeError):
    """The journal could not be opened, read or written (exit 1).

    The message names the database (the SQLite file), so a user knows which file to look at.
    Calling the API wrongly (an unknown status, a negative limit) is a bug and raises
    ValueError instead.
    """


class LockingUnsupported(HyggeError):
    """The filesystem cannot hold kernel locks (some network mounts)."""

    exit_code = ExitCode.USAGE


class LockFolderUnusable(HyggeError):
    """A lock folder or file cannot be created or written: nothing may run unprotected."""

    exit_code = ExitCode.USAGE


class Interrupted(HyggeError):
    """The run was cancelled (Ctrl-C)."""

    exit_code = ExitCode.INTERRUPTED
