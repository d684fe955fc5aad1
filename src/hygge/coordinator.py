"""Runs a plan: a bounded thread pool of entity flows, cancellation, one result per entity."""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Protocol

from hygge.flow import EntityFlow
from hygge.journal import open_journal
from hygge.plan import Plan, PlannedEntity
from hygge.results import EntityResult, RunResult
from hygge.window import Backfill


class Reporter(Protocol):
    """Receives progress; implemented by the terminal renderer (or nothing)."""

    def entity_started(self, entity: PlannedEntity) -> None: ...

    def entity_rows(self, entity: PlannedEntity, rows: int) -> None: ...

    def entity_finished(self, result: EntityResult) -> None: ...


class SilentReporter:
    def entity_started(self, entity: PlannedEntity) -> None:
        pass

    def entity_rows(self, entity: PlannedEntity, rows: int) -> None:
        pass

    def entity_finished(self, result: EntityResult) -> None:
        pass


def new_run_id() -> str:
    """Sortable by start time (to the microsecond) and unique across processes."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}"


class Coordinator:
    """Runs the entities of a plan concurrently and collects their results."""

    def __init__(
        self,
        plan: Plan,
        reporter: Reporter | None = None,
        backfill: Backfill | None = None,
        command: str = "hygge (library)",
    ) -> None:
        self.plan = plan
        self.reporter = reporter or SilentReporter()
        self.backfill = backfill
        self.command = command
        self.cancel = threading.Event()
        self.run_id = new_run_id()

    def run(self) -> RunResult:
        self.plan.preflight()
        started = time.monotonic()
        results: dict[str, EntityResult] = {}
        project = self.plan.project
        with open_journal(project.root, project.spec.journal.path) as journal:
            self.journal = journal
            journal.mark_interrupted()
            journal.start_run(self.run_id, self.command)
            try:
                self._run_all(results)
            finally:
                journal.finish_run(self.run_id, _run_status(results, self.cancel.is_set()))
        interrupted = self.cancel.is_set()
        ordered = tuple(
            results.get(e.address) or self._not_started(e, interrupted) for e in self.plan.entities
        )
        return RunResult(
            run_id=self.run_id,
            project=self.plan.project.name,
            entities=ordered,
            seconds=time.monotonic() - started,
            interrupted=interrupted,
        )

    def _run_all(self, results: dict[str, EntityResult]) -> None:
        waiting = list(self.plan.entities)
        running: dict[Future[EntityResult], PlannedEntity] = {}
        with ThreadPoolExecutor(self.plan.concurrency, thread_name_prefix="hygge") as pool:
            try:
                while waiting or running:
                    while (
                        waiting
                        and len(running) < self.plan.concurrency
                        and self._may_start(results)
                    ):
                        entity = waiting.pop(0)
                        self.reporter.entity_started(entity)
                        running[pool.submit(self._run_one, entity)] = entity
                    if not running:
                        break
                    done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._finish(running, future, results)
            except KeyboardInterrupt:
                # Running flows stop at their next batch and discard their staging.
                self.cancel.set()
                for future in list(running):
                    self._finish(running, future, results)

    def _finish(
        self,
        running: dict[Future[EntityResult], PlannedEntity],
        future: Future[EntityResult],
        results: dict[str, EntityResult],
    ) -> None:
        running.pop(future, None)
        result = future.result()
        results[result.address] = result
        self.reporter.entity_finished(result)

    def _may_start(self, results: dict[str, EntityResult]) -> bool:
        if self.cancel.is_set():
            return False
        failed = any(r.status == "failed" for r in results.values())
        return self.plan.continue_on_error or not failed

    def _run_one(self, entity: PlannedEntity) -> EntityResult:
        flow = EntityFlow(
            entity,
            self.run_id,
            self.cancel,
            self.journal,
            self.backfill,
            lambda rows: self.reporter.entity_rows(entity, rows),
        )
        return flow.run()

    def _not_started(self, entity: PlannedEntity, interrupted: bool) -> EntityResult:
        reason = (
            "not started: the run was interrupted"
            if interrupted
            else ("not started: an earlier entity failed and options.continue_on_error is false")
        )
        return EntityResult(
            address=entity.address,
            status="skipped",
            run_type=entity.run_type,
            destination=entity.store.destination(),
            error=reason,
        )


def _run_status(results: dict[str, EntityResult], interrupted: bool) -> str:
    if interrupted:
        return "interrupted"
    return "failed" if any(r.status == "failed" for r in results.values()) else "success"
