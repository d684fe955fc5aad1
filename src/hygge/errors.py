"""The whole error tree: every failure a user can see is one of these.

The CLI turns a HyggeError into its message (plus hint) and its exit code; anything else
is a bug and shows a traceback.
"""

from __future__ import annotations


class HyggeError(Exception):
    """Base of every hygge error. `hint` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(HyggeError):
    """Bad command line or config: nothing ran (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A project file is wrong; the message names the file, line and key."""


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


class RetryableError(EntityError):
    """A transient failure (network, lock timeout): the flow retries it with backoff."""


class Interrupted(HyggeError):
    """The run was cancelled (Ctrl-C)."""

    exit_code = 130
