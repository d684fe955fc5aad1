"""One COPY for all of a PostgreSQL load's batches, fed by a thread.

Why: an `adbc_ingest` per batch pays a COPY's setup each time (0.87 of raw ADBC's rows/s at
10M rows); one ingest reading a `RecordBatchReader` pays it once. `write()` queues each batch
(at most QUEUE_BATCHES wait, so memory stays bounded) for a thread that holds one pooled
connection for the whole COPY. Later batches are cast to the first batch's schema before they
are queued, so a mismatch fails in `write()`, naming the column. The server reports a value it
refuses only when the stream ends (at publish), so the load looks for the values it knows the
server refuses in each batch first (`_values`); a dead thread (a lost connection) fails the
next `write()`. An open COPY locks its stage, so ingests a load left running are stopped before
`recover` drops their stage, and at exit (a COPY thread calling into a finalizing interpreter
crashes it).
"""

from __future__ import annotations

import atexit
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import polars as pl
import pyarrow as pa

from hygge.engines.postgres import column_type
from hygge.errors import EntityError, StoreError
from hygge.handoff import POLL_SECONDS, put_while
from hygge.redact import redact

QUEUE_BATCHES = 2


class _Stopped(Exception):
    """Raised inside the stream to end the COPY unfinished: nothing of it is committed."""


class Ingest:
    """A daemon thread running `ingest(reader)` over the batches `put` hands it."""

    _running: ClassVar[set[Ingest]] = set()
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        destination: str,
        schema: pa.Schema,
        ingest: Callable[[pa.RecordBatchReader], object],
        name: str,
    ) -> None:
        self.destination = destination  # for messages and `stop_running`; holds no password
        self.schema = schema
        self.error: BaseException | None = None
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(QUEUE_BATCHES)
        self._stop = threading.Event()
        self._finished = False  # the stream was ended and the thread joined
        self._thread = threading.Thread(target=self._run, args=(ingest,), name=name, daemon=True)
        with Ingest._guard:
            Ingest._running.add(self)
        self._thread.start()

    @classmethod
    def stop_running(cls, destination: str | None = None) -> None:
        """Stop this process's ingests into destination, or all (loads left without abort)."""
        with cls._guard:
            running = [i for i in cls._running if destination in (None, i.destination)]
        for ingest in running:
            ingest.stop()

    def put(self, table: pa.Table) -> None:
        """Queue a table in `schema`; raises the ingest's error if it has ended."""
        self._put(table)

    def finish(self) -> None:
        """End the stream and wait for the COPY to complete; its error is raised here."""
        if not self._finished:
            self._put(None)
            self._thread.join()
            self._finished = True
        if self.error is not None:
            raise self._failure()

    def stop(self) -> None:
        """End the COPY unfinished and wait for the thread (and its connection) to go."""
        self._stop.set()
        self._thread.join()

    def _put(self, item: pa.Table | None) -> None:
        if not put_while(self._queue, item, self._thread.is_alive):
            raise self._failure()

    def _failure(self) -> EntityError:
        error = self.error
        if isinstance(error, EntityError):
            return error  # connect() mapped it: redacted, and retryable when transient
        if error is None:
            return StoreError(f"{self.destination}: the bulk ingest ended before the load")
        detail = " ".join(f"{type(error).__name__}: {error}".split())
        return StoreError(redact(f"{self.destination}: the bulk ingest failed: {detail}"))

    def _run(self, ingest: Callable[[pa.RecordBatchReader], object]) -> None:
        try:
            ingest(pa.RecordBatchReader.from_batches(self.schema, self._batches()))
        except BaseException as exc:
            self.error = exc
        finally:
            with Ingest._guard:
                Ingest._running.discard(self)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        while True:
            if self._stop.is_set():
                raise _Stopped("the load was aborted")
            try:
                table = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if table is None:
                return
            yield from table.to_batches()


atexit.register(Ingest.stop_running)


def conformed(frame: pl.DataFrame, schema: pa.Schema, staged: dict[str, str]) -> pa.Table:
    """A later frame (already `bulk_ready`) as Arrow in the stream's schema: columns
    reordered, missing ones NULL (as a COPY naming them would leave them), a column all NULL
    or of the same PostgreSQL type cast without loss; a column of another type, or one the
    stage lacks, is refused."""
    data = frame.to_arrow()
    if data.schema.equals(schema):
        return data
    extra = [name for name in frame.columns if name not in staged]
    if extra:
        raise StoreError(
            f"column(s) {extra} of a batch are not among the columns the load's first batch"
            f" staged: {list(staged)}"
        )
    columns: list[pa.Array[Any] | pa.ChunkedArray[Any]] = []
    for field in schema:
        name = field.name
        if name not in frame.columns:
            columns.append(pa.nulls(data.num_rows, field.type))
            continue
        column = data.column(name)
        dtype = column_type(name, frame.schema[name])
        if column.type == field.type:
            columns.append(column)
        elif column.null_count == len(column):
            columns.append(pa.nulls(len(column), field.type))
        elif dtype != staged[name]:
            raise StoreError(
                f"column {name!r} is {dtype} in a batch but {staged[name]} in the load's"
                " first batch, which made the staging table",
                hint="give the column one type in the source",
            )
        else:
            try:
                columns.append(column.cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise StoreError(
                    f"column {name!r} is {column.type} in a batch but {field.type} in the"
                    " load's first batch, and its values do not convert without loss"
                ) from exc
    return pa.Table.from_arrays(columns, schema=schema)
