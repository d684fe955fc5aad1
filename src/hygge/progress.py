"""What a run tells while it goes: each entity's phase, rows and bytes moved, and the rows
expected when the home can know them cheaply.

The library speaks through a `Reporter` (an observer): the CLI draws it, a `hygge.run()`
user may subscribe with `reporter=`. Every method does nothing by default, so a reporter
overrides only what it wants; one lacking a method (written against an older hygge) is
still called for the methods it has.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hygge.plan import PlannedEntity
    from hygge.results import EntityResult

log = logging.getLogger(__name__)

# The phases an entity goes through, as reporters receive them.
QUEUED = "queued"
PLANNING = "planning"
BOUNDS = "bounds query"
READING = "reading"
WRITING = "writing"
PUBLISHING = "publishing"
RETRY_WAIT = "waiting to retry"


def waiting_for_pool(pools: str) -> str:
    return f"waiting for a connection of {pools}"


def waiting_for_lock(holder: str) -> str:
    return f"waiting for the lock held by {holder}"


class Reporter:
    """Receives a run's events, from the coordinator's and the entities' threads (a
    reporter that keeps state guards it with a lock)."""

    def run_started(self, run_id: str, entities: tuple[PlannedEntity, ...]) -> None:
        """Every selected entity is queued; none has started."""

    def entity_started(self, entity: PlannedEntity) -> None:
        """The entity holds its locks and connections and begins."""

    def entity_phase(self, entity: PlannedEntity, phase: str) -> None:
        """The entity (started or still queued) entered `phase` (see the constants above)."""

    def entity_total(self, entity: PlannedEntity, rows: int) -> None:
        """The rows the read is expected to move: an estimate (footers, catalog statistics,
        file sizes), sent only when the home could tell cheaply."""

    def entity_rows(self, entity: PlannedEntity, rows: int, size: int = 0) -> None:
        """Rows written so far by this entity, and their size in memory (bytes)."""

    def entity_finished(self, result: EntityResult) -> None:
        """The entity's result: it succeeded, failed, was skipped or interrupted."""


SilentReporter = Reporter


class Relay:
    """Forwards events to a reporter, calling only the methods it has (a duck-typed one of
    an older hygge had three), and never repeating a phase it already told."""

    def __init__(self, reporter: Any) -> None:
        self.reporter = reporter
        self.phases: dict[str, str] = {}

    def call(self, name: str, *args: Any) -> None:
        method = getattr(self.reporter, name, None)
        if method is not None:
            method(*args)

    def phase(self, entity: PlannedEntity, phase: str) -> None:
        if self.phases.get(entity.address) != phase:
            self.phases[entity.address] = phase
            self.call("entity_phase", entity, phase)


class EntityEvents:
    """One entity's events, as its flow sends them: phases (each timed in the debug log),
    rows and bytes, and the expected total."""

    def __init__(self, relay: Relay, entity: PlannedEntity) -> None:
        self.relay = relay
        self.entity = entity
        self.current: tuple[str, float] | None = None
        self.size = 0

    def phase(self, phase: str) -> None:
        if self.current is not None and self.current[0] == phase:
            return
        self._close_phase()
        self.current = (phase, time.monotonic())
        self.relay.phase(self.entity, phase)

    def total(self, rows: int | None) -> None:
        if rows is not None:
            log.debug("%s: about %s rows to read", self.entity.address, f"{rows:,}")
            self.relay.call("entity_total", self.entity, rows)

    def rows(self, rows: int, added_bytes: int) -> None:
        self.size += added_bytes
        self.relay.call("entity_rows", self.entity, rows, self.size)

    def done(self) -> None:
        self._close_phase()

    def _close_phase(self) -> None:
        if self.current is not None:
            name, began = self.current
            log.debug("%s: %s took %.2fs", self.entity.address, name, time.monotonic() - began)
            self.current = None


class NoEvents(EntityEvents):
    """For a flow run on its own (tests, tools): events go nowhere."""

    def __init__(self) -> None:
        self.current = None
        self.size = 0

    def phase(self, phase: str) -> None:
        pass

    def total(self, rows: int | None) -> None:
        pass

    def rows(self, rows: int, added_bytes: int) -> None:
        pass

    def done(self) -> None:
        pass
