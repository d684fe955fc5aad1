"""What a run produced: one result per entity and the run's exit status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from hygge.errors import ExitCode

if TYPE_CHECKING:
    from hygge.checks import CheckReport

Status = Literal["success", "failed", "skipped", "interrupted"]


@dataclass(frozen=True)
class SchemaChange:
    """A change a load made to its destination's columns: so far only a column added
    (nullable, for the rows before), with its type as the store names it."""

    column: str
    type: str
    action: Literal["added"] = "added"

    def __str__(self) -> str:
        return f"{self.action} column {self.column!r} ({self.type})"


@dataclass(frozen=True)
class EntityResult:
    address: str
    status: Status
    run_type: str
    destination: str
    rows: int = 0
    seconds: float = 0.0
    attempts: int = 0
    error: str | None = None
    hint: str | None = None
    traceback: str | None = None
    warnings: tuple[str, ...] = ()
    schema_changes: tuple[SchemaChange, ...] = ()
    locked_by: str | None = None  # skipped because another run holds it
    done_by: str | None = None  # skipped: another run of the round loaded it (its run id)
    checks: CheckReport | None = None  # what the entity's checks found


@dataclass(frozen=True)
class RunResult:
    run_id: str
    project: str
    entities: tuple[EntityResult, ...] = field(default=())
    seconds: float = 0.0
    interrupted: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for r in self.entities if r.status == status)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.entities)

    @property
    def exit_code(self) -> ExitCode:
        """130 interrupted, 1 any failure, 75 only lock skips (or, in a round, every entity
        done by other workers), else 0 (docs/architecture.md, Exit codes)."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.count("failed"):
            return ExitCode.FAILED
        if any(r.locked_by for r in self.entities):
            return ExitCode.HELD
        if self.entities and all(r.done_by for r in self.entities):
            return ExitCode.HELD  # a round's worker that found nothing left to do
        return ExitCode.OK
