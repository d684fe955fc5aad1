"""Runs a plan: a bounded thread pool of entity flows, cancellation, one result per entity."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import UTC, datetime

from hygge.errors import JournalError, LockFolderUnusable
from hygge.flow import EntityFlow
from hygge.journal import open_project_journal
from hygge.locks import Claim, Holder
from hygge.logfile import run_log
from hygge.plan import Plan, PlannedEntity
from hygge.progress import EntityEvents, Relay, Reporter, waiting_for_lock, waiting_for_pool
from hygge.results import EntityResult, RunResult, Status
from hygge.signals import main_thread_only
from hygge.window import Backfill

_POLL_SECONDS = 0.2
LIBRARY_COMMAND = "hygge (library)"  # the command the journal records for a library run
log = logging.getLogger(__name__)


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
        command: str = LIBRARY_COMMAND,
        wait_seconds: float = 0.0,
        run_id: str | None = None,
        log_file: str | None = None,
        round_id: str | None = None,
    ) -> None:
        self.plan = plan
        self.relay = Relay(reporter or Reporter())
        self.backfill = backfill
        self.command = command
        # A round's worker waits for what others hold: it is done, or freed for it to run.
        self.wait_seconds = float("inf") if round_id is not None else wait_seconds
        self.round_id = round_id
        self.cancel = threading.Event()
        self.started_at = datetime.now(UTC)  # the run's start, as polish's `run_start`
        self.run_id = run_id or new_run_id()
        self.holder = Holder.me(self.run_id, command)
        written = log_file or plan.project.spec.log_file
        self.log_file = plan.project.root / written if written else None

    def run(self) -> RunResult:
        with run_log(self.log_file, self.run_id):
            return self._run()

    def _run(self) -> RunResult:
        self.plan.preflight()
        for line in (*self.plan.left_out, *self.plan.crowding()):
            log.warning("%s", line)
        started = time.monotonic()
        results: dict[str, EntityResult] = {}
        project = self.plan.project
        with open_project_journal(project) as journal:
            self.journal = journal
            journal.mark_interrupted()
            journal.start_run(self.run_id, self.command, self.round_id)
            self._announce()
            status = "failed"  # the record when an error ends the run early
            self.locks = journal.locks(project.root)
            try:
                self._run_locked(results)
                status = _run_status(results, self.cancel.is_set())
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            finally:
                self.plan.pools.close()
                self.locks.close()
                journal.finish_run(self.run_id, status)
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

    def _announce(self) -> None:
        """The plan in the debug log; every entity queued for the reporter."""
        log.info(
            "run %s of %s: %d entities",
            self.run_id,
            self.plan.project.name,
            len(self.plan.entities),
        )
        for e in self.plan.entities:
            log.debug(
                "plan: %s %s: %s -> %s",
                e.address,
                e.run_type,
                e.home.describe(),
                e.store.destination(),
            )
        self.relay.call("run_started", self.run_id, self.plan.entities)

    def _run_locked(self, results: dict[str, EntityResult]) -> None:
        """Run every entity, or none when the locks cannot be used or the project is held."""
        self.locks.check()
        claim, held_by = self._claim_project()
        try:
            if held_by is None:
                self._run_all(results)
            else:
                results |= {e.address: self._held(e, held_by) for e in self.plan.entities}
        finally:
            claim.release()

    def _run_all(self, results: dict[str, EntityResult]) -> None:
        waiting = list(self.plan.entities)
        running: dict[Future[EntityResult], PlannedEntity] = {}
        deadline = time.monotonic() + self.wait_seconds
        with ThreadPoolExecutor(
            self.plan.concurrency, thread_name_prefix="hygge", initializer=main_thread_only
        ) as pool:
            try:
                while waiting or running:
                    self._start_what_can(pool, waiting, running, results, deadline)
                    if not running:
                        if not waiting or not self._may_start(results):
                            break
                        time.sleep(_POLL_SECONDS)  # every waiting entity is held elsewhere
                        continue
                    done, _ = wait(running, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._finish(running, future, results)
            except KeyboardInterrupt:
                # Running flows stop at their next batch and discard their staging.
                self.cancel.set()
                for future in list(running):
                    self._finish(running, future, results)

    def _start_what_can(
        self,
        pool: ThreadPoolExecutor,
        waiting: list[PlannedEntity],
        running: dict[Future[EntityResult], PlannedEntity],
        results: dict[str, EntityResult],
        deadline: float,
    ) -> None:
        """Start waiting entities whose connection budget and locks are free (see
        `hygge.pool`: one waiting for connections waits here, holding none); skip those held
        past the deadline."""
        pools = self.plan.pools
        for entity in list(waiting):
            if len(running) >= self.plan.concurrency or not self._may_start(results):
                return
            if not pools.reserve(entity.pool_needs):
                self.relay.phase(entity, waiting_for_pool(", ".join(sorted(entity.pool_needs))))
                continue  # its pools are busy: it starts when a running entity ends
            claim = self.locks.claim(entity.address, entity.store.target())
            try:
                holder = claim.try_take(self._holding(entity))
            # e.g. another user's lock file, or the journal's server gone: this entity only
            except (LockFolderUnusable, JournalError) as exc:
                waiting.remove(entity)
                self._report(self._unlockable(entity, exc), results)
                continue
            done_by = self._done_in_round(entity) if holder is None else None
            if done_by is not None:
                claim.release()
                pools.release(entity.pool_needs)
                waiting.remove(entity)
                self._report(self._done(entity, done_by), results)
                continue
            if holder is None:
                waiting.remove(entity)
                log.info("%s: started (%s)", entity.address, entity.run_type)
                self.relay.call("entity_started", entity)
                running[pool.submit(self._run_one, entity, claim)] = entity
                continue
            pools.release(entity.pool_needs)
            if time.monotonic() >= deadline:
                waiting.remove(entity)
                self._report(self._held(entity, holder), results)
            else:
                self.relay.phase(entity, waiting_for_lock(holder))

    def _claim_project(self) -> tuple[Claim, str | None]:
        """With options.exclusive, one coordinator per project: the others skip (or wait).

        Returns the claim (empty when not exclusive) and who holds the project, if not us."""
        if not self.plan.project.spec.options.exclusive:
            return Claim(()), None
        claim = self.locks.project_claim()
        deadline = time.monotonic() + self.wait_seconds
        while (holder := claim.try_take(self.holder)) is not None:
            if time.monotonic() >= deadline:
                return claim, holder
            time.sleep(_POLL_SECONDS)
        return claim, None

    def _finish(
        self,
        running: dict[Future[EntityResult], PlannedEntity],
        future: Future[EntityResult],
        results: dict[str, EntityResult],
    ) -> None:
        entity = running.pop(future)
        try:
            result = future.result()
        finally:
            self.plan.pools.release(entity.pool_needs)
        self._report(result, results)

    def _report(self, result: EntityResult, results: dict[str, EntityResult]) -> None:
        results[result.address] = result
        log.info(
            "%s: %s, %s rows in %.1fs%s",
            result.address,
            result.status,
            f"{result.rows:,}",
            result.seconds,
            f" ({result.error.splitlines()[0]})" if result.error else "",
        )
        self.relay.call("entity_finished", result)

    def _may_start(self, results: dict[str, EntityResult]) -> bool:
        if self.cancel.is_set():
            return False
        failed = any(r.status == "failed" for r in results.values())
        return self.plan.continue_on_error or not failed

    def _run_one(self, entity: PlannedEntity, claim: Claim) -> EntityResult:
        flow = EntityFlow(
            entity,
            self.run_id,
            self.cancel,
            claim.fence(self.journal),
            self.backfill,
            EntityEvents(self.relay, entity),
            self.started_at,
        )
        try:
            return flow.run()
        finally:
            claim.release()

    def _holding(self, entity: PlannedEntity) -> Holder:
        """This run as the holder of an entity's locks: naming the entity and its
        destination as written, so one skipped names what it ran into."""
        return replace(self.holder, entity=entity.address, writes=entity.store.destination())

    def _held(self, entity: PlannedEntity, holder: str) -> EntityResult:
        return _unrun(
            entity,
            "skipped",
            f"skipped (writing {entity.store.destination()}): held by {holder}",
            hint="it runs there now; pass --wait SECONDS to wait for it",
            locked_by=holder,
        )

    def _done_in_round(self, entity: PlannedEntity) -> str | None:
        """Which run of this round loaded the entity, if one did; asked holding its lock, so
        a worker that loaded it has committed that already."""
        if self.round_id is None:
            return None
        return self.journal.round_done(self.round_id).get((entity.flow, entity.name))

    def _done(self, entity: PlannedEntity, run_id: str) -> EntityResult:
        result = _unrun(entity, "skipped", f"done in round {self.round_id} by run {run_id}")
        return replace(result, done_by=run_id)

    def _unlockable(
        self, entity: PlannedEntity, error: LockFolderUnusable | JournalError
    ) -> EntityResult:
        return _unrun(entity, "failed", error.message, hint=error.hint)

    def _not_started(self, entity: PlannedEntity, interrupted: bool) -> EntityResult:
        reason = (
            "not started: the run was interrupted"
            if interrupted
            else ("not started: an earlier entity failed and options.continue_on_error is false")
        )
        return _unrun(entity, "skipped", reason)


def _unrun(
    entity: PlannedEntity,
    status: Status,
    error: str,
    hint: str | None = None,
    locked_by: str | None = None,
) -> EntityResult:
    """The result of an entity that did not run, and why."""
    return EntityResult(
        address=entity.address,
        status=status,
        run_type=entity.run_type,
        destination=entity.store.destination(),
        error=error,
        hint=hint,
        locked_by=locked_by,
    )


def _run_status(results: dict[str, EntityResult], interrupted: bool) -> str:
    if interrupted:
        return "interrupted"
    return "failed" if any(r.status == "failed" for r in results.values()) else "success"
