"""One entity run: read batches on a thread, write them, publish; retry what is transient.

The reader and the writer meet at a bounded queue, so memory holds at most a few
batches whatever the table size.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from hygge.errors import HyggeError, Interrupted, RetryableError
from hygge.failpoints import failpoint
from hygge.plan import PlannedEntity
from hygge.plugin import Load, LoadRun, Window
from hygge.results import EntityResult

log = logging.getLogger(__name__)
QUEUE_BATCHES = 2
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _End:
    """The reader is done."""


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class EntityFlow:
    """Moves one planned entity from its home to its store."""

    def __init__(
        self,
        entity: PlannedEntity,
        run_id: str,
        cancel: threading.Event,
        on_rows: Callable[[int], None] = lambda rows: None,
    ) -> None:
        self.entity = entity
        self.run_id = run_id
        self.cancel = cancel
        self.on_rows = on_rows

    def run(self) -> EntityResult:
        started = time.monotonic()
        attempts, rows = 0, 0
        settings = self.entity.settings
        retries = settings.retries or 0
        try:
            self.entity.store.recover()
            while True:
                attempts += 1
                try:
                    rows = self._attempt()
                    break
                except RetryableError as exc:
                    if attempts > retries or self.cancel.is_set():
                        raise
                    delay = (settings.retry_delay or 0) * 2 ** (attempts - 1)
                    log.warning(
                        "%s: attempt %d failed (%s); retrying in %.1fs",
                        self.entity.address,
                        attempts,
                        exc,
                        delay,
                    )
                    self._sleep(delay)
        except Interrupted as exc:
            return self._result("interrupted", rows, started, attempts, exc)
        except HyggeError as exc:
            return self._result("failed", rows, started, attempts, exc)
        except Exception as exc:  # a bug or an unmapped driver error: keep the traceback
            return self._result("failed", rows, started, attempts, exc)
        return self._result("success", rows, started, attempts)

    def _attempt(self) -> int:
        run = LoadRun(
            self.run_id, self.entity.run_type, tuple(self.entity.settings.primary_key or ())
        )
        load = self.entity.store.begin(run)
        try:
            rows = self._move(load)
            if self.cancel.is_set():
                raise Interrupted("interrupted before publish")
            failpoint("before_publish")
            load.publish()
            log.debug("%s: published %d rows", self.entity.address, rows)
        except BaseException:
            load.abort()
            raise
        failpoint("after_publish")
        return rows

    def _move(self, load: Load) -> int:
        batches: queue.Queue[pl.DataFrame | _End | _Failed] = queue.Queue(QUEUE_BATCHES)
        stop = threading.Event()
        reader = threading.Thread(
            target=self._read, args=(batches, stop), name=f"read {self.entity.address}", daemon=True
        )
        reader.start()
        rows = 0
        try:
            while True:
                item = self._next(batches)
                if isinstance(item, _End):
                    return rows
                if isinstance(item, _Failed):
                    raise item.error
                load.write(item)
                rows += item.height
                log.debug("%s: wrote a batch of %d rows", self.entity.address, item.height)
                self.on_rows(rows)
                failpoint("after_batch")
        finally:
            stop.set()
            reader.join()

    def _read(
        self, batches: queue.Queue[pl.DataFrame | _End | _Failed], stop: threading.Event
    ) -> None:
        frames = self.entity.home.batches(Window.everything(), self.entity.settings.batch_rows or 1)
        with contextlib.closing(frames):
            try:
                for frame in frames:
                    if not _put(batches, frame, stop):
                        return
                _put(batches, _End(), stop)
            except BaseException as exc:
                _put(batches, _Failed(exc), stop)

    def _next(
        self, batches: queue.Queue[pl.DataFrame | _End | _Failed]
    ) -> pl.DataFrame | _End | _Failed:
        while True:
            if self.cancel.is_set():
                raise Interrupted("interrupted")
            try:
                return batches.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue

    def _sleep(self, seconds: float) -> None:
        if self.cancel.wait(seconds):
            raise Interrupted("interrupted while waiting to retry")

    def _result(
        self,
        status: str,
        rows: int,
        started: float,
        attempts: int,
        error: BaseException | None = None,
    ) -> EntityResult:
        hint = error.hint if isinstance(error, HyggeError) else None
        keep_trace = error is not None and (
            not isinstance(error, HyggeError) or error.__cause__ is not None
        )
        trace = "".join(traceback.format_exception(error)) if keep_trace else None
        return EntityResult(
            address=self.entity.address,
            status=status,  # type: ignore[arg-type]
            run_type=self.entity.run_type,
            destination=self.entity.store.destination(),
            rows=rows if status == "success" else 0,
            seconds=time.monotonic() - started,
            attempts=attempts,
            error=_message(error) if error is not None else None,
            hint=hint,
            traceback=trace,
        )


def _put(
    batches: queue.Queue[pl.DataFrame | _End | _Failed], item: object, stop: threading.Event
) -> bool:
    """Put unless the writer has stopped listening; False when it has."""
    while not stop.is_set():
        try:
            batches.put(item, timeout=_POLL_SECONDS)  # type: ignore[arg-type]
            return True
        except queue.Full:
            continue
    return False


def _message(error: BaseException) -> str:
    """A hygge error speaks for itself; anything else is prefixed by its type."""
    text = str(error).strip()
    if isinstance(error, HyggeError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
