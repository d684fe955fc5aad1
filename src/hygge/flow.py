"""One entity run: window, read, write, publish, commit; retry what is transient.

Order of durability: the store publishes (with its commit record), then the journal
commits the watermark. A crash between the two is reconciled at the next start from the
store's record, so no row is read twice.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hygge.admission import admission, findings, flushing
from hygge.checks import Checker, CheckReport
from hygge.errors import (
    ConfigError,
    EntityError,
    HyggeError,
    Interrupted,
    RetryableError,
    StoreError,
)
from hygge.failpoints import failpoint
from hygge.journal import Journal, WatermarkCommit, WatermarkRecord
from hygge.plan import PlannedEntity
from hygge.plugin import Commit, Load, LoadRun
from hygge.progress import (
    BOUNDS,
    PLANNING,
    PUBLISHING,
    READING,
    RETRY_WAIT,
    WRITING,
    EntityEvents,
    NoEvents,
)
from hygge.quarantine import Quarantine
from hygge.redact import redact
from hygge.results import EntityResult, SchemaChange, Status
from hygge.transfer import Counts, copy_whole, transfer
from hygge.window import Backfill, ReadPlan, WindowState, plan_read

log = logging.getLogger(__name__)


@dataclass
class _Outcome:
    counts: Counts = field(default_factory=Counts)
    state: WindowState | None = None  # what to commit; None: leave the watermark alone
    warnings: list[str] = field(default_factory=list)
    schema_changes: tuple[SchemaChange, ...] = ()  # what the publish changed in the columns
    mismatch: str | None = None  # published, but the destination counts other rows than written
    checks: CheckReport | None = None


class EntityFlow:
    """Moves one planned entity from its home to its store."""

    def __init__(
        self,
        entity: PlannedEntity,
        run_id: str,
        cancel: threading.Event,
        journal: Journal,
        backfill: Backfill | None = None,
        events: EntityEvents | None = None,
        started_at: datetime | None = None,
    ) -> None:
        self.entity = entity
        self.run_id = run_id
        self.cancel = cancel
        self.journal = journal
        self.backfill = backfill
        self.events = events or NoEvents()
        self.started_at = started_at or datetime.now(UTC)
        self.published_before = False  # the store held a commit record when the run began

    def run(self) -> EntityResult:
        started = time.monotonic()
        entity = self.entity
        attempts, outcome = 0, _Outcome()
        record_id: int | None = None
        self.events.phase(PLANNING)
        try:
            entity.store.recover()
            previous = self._previous_state()
            record_id = self.journal.start_entity(
                self.run_id,
                entity.flow,
                entity.name,
                entity.run_type,
                _encoded(previous),
                self.backfill.describe() if self.backfill else None,
            )
            while True:
                attempts += 1
                try:
                    outcome = self._attempt(previous)
                    break
                except RetryableError as exc:
                    if attempts > (entity.settings.retries or 0) or self.cancel.is_set():
                        raise
                    self._wait_to_retry(attempts, exc)
        except Interrupted as exc:
            return self._finish(record_id, "interrupted", outcome, started, attempts, exc)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # hygge errors, bugs, driver panics: the entity fails
            return self._finish(record_id, "failed", outcome, started, attempts, exc)
        if outcome.mismatch is not None:  # published and committed, but rows went astray
            hint = (
                "the load is published and the watermark moved: inspect the destination, then"
                f" run --entity {entity.address}:d to replace it with a full copy"
            )
            error = StoreError(outcome.mismatch, hint=hint)
            return self._finish(record_id, "failed", outcome, started, attempts, error)
        return self._finish(record_id, "success", outcome, started, attempts)

    def _previous_state(self) -> WindowState:
        """The committed window state, adopting the store's newer record after a crash."""
        entity = self.entity
        stored = self.journal.watermark(entity.flow, entity.name)
        self._refuse_another_column(stored)
        published = entity.store.last_commit()
        self.published_before = published is not None
        if published is not None and published.watermark and _newer(published, stored):
            audits = self.journal.audit(entity.flow, entity.name)
            if not any(a.at >= published.published_at for a in audits):
                column = entity.settings.watermark.column if entity.settings.watermark else ""
                self.journal.set_watermark(
                    entity.flow,
                    entity.name,
                    WatermarkCommit(column, published.watermark, published.state),
                    user="hygge",
                    reason=f"recovered from the store's record of run {published.run_id}",
                )
                return WindowState.decode(published.watermark, published.state)
        if stored is None:
            return WindowState()
        return WindowState.decode(stored.value, stored.state)

    def _refuse_another_column(self, stored: WatermarkRecord | None) -> None:
        """A backfill does not read from the committed watermark either, so it may go on."""
        if self.backfill is not None:
            return
        moved = watermark_moved(self.entity, stored)
        if moved is not None:
            raise moved

    def _attempt(self, previous: WindowState) -> _Outcome:
        entity = self.entity
        settings = entity.settings
        if settings.watermark is not None and entity.run_type != "full_drop":
            self.events.phase(BOUNDS)
        read = plan_read(entity.home, settings, entity.run_type, previous, self.backfill)
        log.debug("%s: %s", entity.address, read.describe())
        self.events.total(entity.home.estimate_rows(read.window))
        checker = Checker(settings.checks) if settings.checks else None
        held = Quarantine(entity.quarantine, entity.store, read) if entity.quarantine else None
        started = self.started_at
        key, version, admit = admission(settings, read, checker, held, self.run_id, started)
        if held is not None:
            held.begin(self.run_id, key)
        try:
            load = entity.store.begin(LoadRun(self.run_id, entity.run_type, key, version))
        except BaseException:
            if held is not None:
                held.abort()
            raise
        self.events.phase(READING)
        try:
            counts = self._copied(read, checker, load) or transfer(
                entity.home,
                read.window,
                settings.batch_rows or 1,
                load,
                self.cancel,
                admit=admit,
                on_rows=self._moved if held is None else flushing(held, self._moved),
            )
            if self.cancel.is_set():
                raise Interrupted("interrupted before publish")
            report = checker.settle() if checker else None
            if entity.run_type == "full_drop" and not counts.written:
                self._refuse_emptying(held)
            state = read.next_state()
            failpoint("before_publish")
            self.events.phase(PUBLISHING)
            if held is not None:
                held.publish(self.run_id)  # first: see hygge.quarantine
                failpoint("after_quarantine_publish")
            load.publish(self._commit(state))
            log.debug("%s: published %d rows", entity.address, counts.written)
        except BaseException:
            load.abort()
            if held is not None:
                held.abort()
            raise
        failpoint("after_publish")
        warnings = [*read.notes, *load.notes, *findings(report, entity.quarantine)]
        if read.tracker and read.tracker.nulls:
            column = read.window.column
            warnings.append(f"{read.tracker.nulls} rows with NULL {column} were not loaded")
        if self._appended_from_the_start(previous, counts):
            warnings.append(
                "no watermark was committed, so this incremental run read from the start and"
                " appended to the rows earlier runs published there: those rows are now there"
                f" twice; run it once with --entity {entity.address}:d to replace them"
            )
        mismatch = _mismatch(load.published_rows, counts.written, entity.store.destination())
        return _Outcome(counts, state, warnings, load.schema_changes, mismatch, report)

    def _moved(self, rows: int, size: int) -> None:
        if rows:
            self.events.phase(WRITING)
        self.events.rows(rows, size)

    def _copied(self, read: ReadPlan, checker: Checker | None, load: Load) -> Counts | None:
        """Files taken whole, if no batch would be filtered, checked or polished (None: not)."""
        if read.tracker is None and checker is None and self.entity.settings.polish is None:
            return copy_whole(self.entity.home, read.window, load, self.cancel, self._moved)
        return None

    def _appended_from_the_start(self, previous: WindowState, counts: Counts) -> bool:
        """Did an append read everything into a destination hygge had already loaded? (A
        full_drop without a watermark commits none, so a switch to incremental does this.)"""
        appended = self.entity.run_type == "incremental" and self.backfill is None
        return appended and previous.mark is None and self.published_before and counts.written > 0

    def _refuse_emptying(self, quarantine: Quarantine | None) -> None:
        """A full copy of nothing over a destination holding rows is most often an accident
        (an empty folder, a glob matching nothing, every row failing a check): it needs the
        entity's `allow_empty`."""
        entity = self.entity
        if entity.settings.allow_empty:
            return
        held = entity.store.row_count()
        if quarantine is not None:
            quarantine.flush()
        home = entity.home.describe()
        source = f"{home} gave no rows"
        if quarantine is not None and quarantine.rows:
            source = f"every row of {home} failed a check ({quarantine.rows} held back)"
        if held:
            raise EntityError(
                f"{source}, and a full_drop would replace the {held} rows in"
                f" {entity.store.destination()} with none; nothing was changed",
                hint="if the source is empty on purpose, set allow_empty: true on the entity"
                f" (or --var flow.{entity.flow}.entities.{entity.name}.allow_empty=true)",
            )

    def _commit(self, state: WindowState | None) -> Commit:
        mark = state.mark.encode() if state and state.mark else None
        recent = state.encode_recent() if state else None
        return Commit(self.run_id, datetime.now(UTC), mark, recent)

    def _wait_to_retry(self, attempts: int, error: RetryableError) -> None:
        delay = (self.entity.settings.retry_delay or 0) * 2 ** (attempts - 1)
        log.warning(
            "%s: attempt %d failed (%s); retrying in %.1fs",
            self.entity.address,
            attempts,
            error,
            delay,
        )
        self.events.phase(RETRY_WAIT)
        if self.cancel.wait(delay):
            raise Interrupted("interrupted while waiting to retry")

    def _finish(
        self,
        record_id: int | None,
        status: Status,
        outcome: _Outcome,
        started: float,
        attempts: int,
        error: BaseException | None = None,
    ) -> EntityResult:
        self.events.done()
        seconds = time.monotonic() - started
        published = status == "success" or outcome.mismatch is not None
        written = outcome.counts.written if published else 0
        message = _message(error) if error is not None else None
        commit = None
        if published and outcome.state is not None and outcome.state.mark:
            watermark = self.entity.settings.watermark
            commit = WatermarkCommit(
                watermark.column if watermark else "(new files)",
                outcome.state.mark.encode(),
                outcome.state.encode_recent(),
            )
        try:
            self._record(record_id, status, outcome, attempts, written, seconds, message, commit)
        except HyggeError as exc:  # the data is published; the next run reconciles from the store
            status, error = "failed", exc
            message = redact(f"the journal could not record the run: {exc}")
        return EntityResult(
            address=self.entity.address,
            status=status,
            run_type=self.entity.run_type,
            destination=self.entity.store.destination(),
            rows=written,
            seconds=seconds,
            attempts=attempts,
            error=message,
            hint=redact(error.hint) if isinstance(error, HyggeError) and error.hint else None,
            traceback=_trace(error),
            warnings=(*self.entity.warnings, *outcome.warnings),
            schema_changes=outcome.schema_changes,
            checks=outcome.checks,
        )

    def _record(
        self,
        record_id: int | None,
        status: Status,
        outcome: _Outcome,
        attempts: int,
        written: int,
        seconds: float,
        message: str | None,
        commit: WatermarkCommit | None,
    ) -> None:
        entity = self.entity
        if record_id is None:  # failed before the run was recorded: record it now
            record_id = self.journal.start_entity(
                self.run_id,
                entity.flow,
                entity.name,
                entity.run_type,
                None,
                self.backfill.describe() if self.backfill else None,
            )
        self.journal.finish_entity(
            record_id,
            status=status,
            attempts=attempts,
            rows_read=outcome.counts.read,
            rows_written=written,
            bytes_written=0,
            seconds=seconds,
            error=message,
            commit=commit,
            schema_changes=outcome.schema_changes,
        )


def watermark_moved(entity: PlannedEntity, stored: WatermarkRecord | None) -> ConfigError | None:
    """A watermark committed on another column (the config changed since) bounds nothing:
    reading on from it would skip or repeat rows. The error to stop the entity with; a full
    copy does not read from it (and then commits the new column), so it has none."""
    if entity.run_type == "full_drop":
        return None
    watermark = entity.settings.watermark
    wanted = "(new files)" if entity.home.new_files_only else watermark and watermark.column
    if stored is None or not wanted or stored.column in ("", wanted):
        return None
    return ConfigError(
        f"the committed watermark of {entity.address} is on {stored.column!r}, but the"
        f" config now names {wanted!r}",
        hint=f"run it once with --entity {entity.address}:d to copy everything, or"
        f" `hygge journal reset --entity {entity.address}` (then watermark.start applies)",
    )


def _newer(published: Commit, stored: WatermarkRecord | None) -> bool:
    """Did the store publish a load that the journal never committed?"""
    if stored is None:
        return True
    return published.run_id != stored.run_id and published.published_at > stored.updated_at


def _mismatch(reported: int | None, written: int, destination: str) -> str | None:
    """Reconciliation: what the destination counts after the publish against what the flow
    wrote into it (None when they agree, or the store cannot tell)."""
    if reported is None or reported == written:
        return None
    return (
        f"{written} rows were written to {destination}, but it reports {reported} from this"
        " load after publishing: rows were lost or doubled on the way"
    )


def _encoded(state: WindowState) -> str | None:
    return state.mark.encode() if state.mark else None


def _message(error: BaseException) -> str:
    """A hygge error speaks for itself; anything else is prefixed by its type. Secrets masked."""
    text = redact(str(error).strip())
    if isinstance(error, HyggeError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _trace(error: BaseException | None) -> str | None:
    """Tracebacks for bugs and for hygge errors with an underlying cause (shown with -v)."""
    if error is None or (isinstance(error, HyggeError) and error.__cause__ is None):
        return None
    return redact("".join(traceback.format_exception(error)))
