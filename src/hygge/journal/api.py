"""The journal API: the project's durable record of runs, entity runs and watermarks.

Callers only see `Journal` and the frozen records below; the SQLite backend implements it
today and a PostgreSQL backend will implement the same API later (docs/architecture.md,
Where state lives).

Watermark values are opaque text (the caller encodes typed values, e.g. as JSON) and the state
is an opaque blob (e.g. Arrow IPC of the boundary keys); the journal never interprets either.
Every timestamp is an aware UTC datetime.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from hygge.locks import FileLocks, LockBackend
from hygge.results import SchemaChange

RUN_STATUSES = frozenset({"running", "success", "failed", "interrupted"})
ENTITY_STATUSES = frozenset({"running", "success", "failed", "skipped", "interrupted"})


@dataclass(frozen=True)
class RunRecord:
    """One `hygge go` process: status is running, success, failed or interrupted."""

    run_id: str
    host: str
    pid: int
    command: str
    started_at: datetime
    ended_at: datetime | None
    status: str


@dataclass(frozen=True)
class EntityRunRecord:
    """One entity of one run: status is running, success, failed, skipped or interrupted.

    `watermark_after` is the value committed by this entity run, or None if it committed none;
    `schema_changes` what it changed in its destination's columns.
    """

    id: int
    run_id: str
    flow: str
    entity: str
    run_type: str
    status: str
    attempts: int
    rows_read: int
    rows_written: int
    bytes_written: int
    seconds: float
    watermark_before: str | None
    watermark_after: str | None
    error: str | None
    started_at: datetime
    ended_at: datetime | None
    schema_changes: tuple[SchemaChange, ...] = ()
    backfill: str | None = None  # the one-off window it read (--from/--to), as given


@dataclass(frozen=True)
class WatermarkRecord:
    """The published watermark of an entity; run_id is None when a user set it by hand."""

    flow: str
    entity: str
    column: str
    value: str
    state: bytes | None
    run_id: str | None
    updated_at: datetime


@dataclass(frozen=True)
class AuditRecord:
    """A manual change of a watermark: action is 'set' or 'reset'."""

    id: int
    at: datetime
    user: str
    action: str
    flow: str
    entity: str
    old_value: str | None
    new_value: str | None
    reason: str


@dataclass(frozen=True)
class WatermarkCommit:
    """The watermark to commit: column name, opaque value text and optional opaque state."""

    column: str
    value: str
    state: bytes | None


def check_status(status: str, allowed: frozenset[str], what: str) -> None:
    """Raise ValueError unless `status` is one of `allowed` (a caller bug, not a user error)."""
    if status not in allowed:
        raise ValueError(f"{what} status must be one of {sorted(allowed)}, not {status!r}")


def check_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")


class Journal(ABC):
    """The durable record of a project's runs; safe to share between threads of one process.

    Every write is one transaction: it happens entirely or not at all, and concurrent processes
    writing the same journal serialize. Failures raise JournalError.
    """

    @abstractmethod
    def start_run(self, run_id: str, command: str, round_id: str | None = None) -> None:
        """Record a run of this process (host, pid and start time filled in) as running,
        working on round `round_id` if given (`hygge go --round`)."""

    @abstractmethod
    def finish_run(self, run_id: str, status: str) -> None:
        """End a run: status success, failed or interrupted; JournalError if it is unknown."""

    @abstractmethod
    def start_entity(
        self,
        run_id: str,
        flow: str,
        entity: str,
        run_type: str,
        watermark_before: str | None,
        backfill: str | None = None,
    ) -> int:
        """Record an entity run of `run_id` as running (reading the one-off window
        `backfill`, if any); return its id for finish_entity."""

    @abstractmethod
    def finish_entity(
        self,
        entity_run_id: int,
        *,
        status: str,
        attempts: int,
        rows_read: int,
        rows_written: int,
        bytes_written: int,
        seconds: float,
        error: str | None = None,
        commit: WatermarkCommit | None = None,
        schema_changes: Sequence[SchemaChange] = (),
    ) -> None:
        """End an entity run and, with `commit`, upsert the entity's watermark: one transaction.

        The watermark's run_id is the entity run's; `watermark_after` becomes commit.value (None
        without a commit, and the watermark is left as it was). JournalError if the id is unknown.
        """

    @abstractmethod
    def watermark(self, flow: str, entity: str) -> WatermarkRecord | None:
        """The entity's watermark, or None if it has none."""

    @abstractmethod
    def set_watermark(
        self, flow: str, entity: str, commit: WatermarkCommit, *, user: str, reason: str
    ) -> None:
        """Set the watermark by hand (run_id None) and audit it ('set', old and new value)."""

    @abstractmethod
    def reset_watermark(self, flow: str, entity: str, *, user: str, reason: str) -> bool:
        """Delete the watermark and audit it ('reset', old value); False if there was none.

        Resetting a missing watermark changes nothing and is not audited: every audit row is a
        change of a watermark.
        """

    @abstractmethod
    def history(
        self,
        flow: str | None = None,
        entity: str | None = None,
        limit: int = 20,
        run_id: str | None = None,
        status: str | None = None,
        round_id: str | None = None,
    ) -> list[EntityRunRecord]:
        """Entity runs, newest (last started) first, optionally of one flow and/or entity,
        of the runs whose id starts with `run_id`, with that `status`, of the runs of round
        `round_id`."""

    @abstractmethod
    def round_done(self, round_id: str) -> dict[tuple[str, str], str]:
        """The entities (flow, entity) an entity run of round `round_id` loaded successfully,
        with that run's id: committed with the entity run, so a claim holder reads it true."""

    @abstractmethod
    def runs(self, limit: int = 20) -> list[RunRecord]:
        """Runs, newest (last started) first."""

    @abstractmethod
    def audit(self, flow: str | None = None, entity: str | None = None) -> list[AuditRecord]:
        """Manual watermark changes, newest first, optionally of one flow and/or entity."""

    @abstractmethod
    def mark_interrupted(self) -> int:
        """Mark what dead processes of this host left running as interrupted.

        A run is dead when it was recorded on this host and its pid is no longer alive. Its
        run (if still running) and its running entity runs become 'interrupted', with ended_at
        the time this was noticed. Runs of other hosts are left alone (their pids mean nothing
        here). Returns how many entity runs changed.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the connection; closing twice is fine, any other use afterwards fails."""

    def locks(self, root: Path) -> LockBackend:
        """The locks that go with this journal, for the project at root: kernel locks on
        files, which hold on one machine; a journal shared by machines brings its own."""
        return FileLocks(root)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
