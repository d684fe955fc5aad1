"""A table read in parallel ranges of one column: `partition: {column: id, count: 4}`.

The home first asks the server for min and max of the column within the read window, splits
[min, max] into `count` contiguous ranges of whole values (integers; dates by day; datetimes
in the column's own unit), and reads them on up to `count` threads, each with its own
connection, plus one range `column IS NULL` so rows without a value are not lost. Other
column types are refused. A home on a connection pool reads on at most `pool_size` threads,
one fewer when its store writes through the same pool (see `hygge.pool`).

Batches are yielded as they arrive, through a queue of one batch per thread (so at most
about two batches per thread are in memory). The first error of any thread stops the others
and is raised as the home's own error; closing the generator stops every thread. A thread
inside a long query notices the stop when its next batch arrives.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import re
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hygge.errors import SourceError
from hygge.handoff import put_while
from hygge.homes._arrow import to_frame
from hygge.plugin import Window
from hygge.redact import redact
from hygge.watermark import Mark

if TYPE_CHECKING:
    from hygge.engines.dialect import Dialect
    from hygge.homes._sql import SqlHome

log = logging.getLogger(__name__)

THREAD_NAME = "hygge-partition"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Partition(BaseModel):
    """`partition:` of a SQL home config: the column to split on and how many ranges."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    column: str
    """An integer, date or time column to split the table on."""
    count: int = Field(ge=2, le=64)
    """How many ranges are read at once (2 to 64)."""

    @field_validator("column")
    @classmethod
    def _column_name(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"{value!r} is not a column name: use letters, digits and _")
        return value


def check_partition(home: SqlHome[Any], partition: Partition, schema: pl.Schema) -> None:
    """Raise SourceError unless the source has the partition column with a splittable type;
    asked by `hygge debug` from the source's columns alone."""
    dtype = schema.get(partition.column)
    if dtype is None:
        raise SourceError(
            f"{home.describe()}: partition column {partition.column!r} is not in the source",
            hint=f"columns there: {', '.join(schema.names())}",
        )
    refuse_unsplittable(home, partition.column, dtype)


def refuse_unsplittable(home: SqlHome[Any], column: str, dtype: pl.DataType) -> None:
    if not (dtype.is_integer() or dtype == pl.Date or isinstance(dtype, pl.Datetime)):
        raise SourceError(
            f"{home.describe()}: partition column {column!r} has type {dtype};"
            " partitioned reads split integer, date and datetime columns only",
            hint="partition on an integer key, or remove 'partition'",
        )


@dataclass(frozen=True)
class Range(Window):
    """The read window narrowed to one range: `start <= part <= end`; no bounds: IS NULL."""

    part: str = ""
    start: Mark | None = None
    end: Mark | None = None


def condition(dialect: Dialect, bounds: Range) -> tuple[str, list[Any]]:
    """The range as SQL in the engine's dialect; no bounds: the column's NULLs."""
    if bounds.start is None or bounds.end is None:
        return f"{dialect.quote(bounds.part)} IS NULL", []
    return dialect.between(bounds.part, bounds.start, bounds.end, nullable=False)


def split(low: Mark, high: Mark, count: int) -> list[tuple[Mark, Mark]]:
    """[low, high] as at most count contiguous ranges: no gaps, no overlaps, high included."""
    first, span = int(low.value), int(high.value) - int(low.value) + 1
    parts = min(count, span)
    return [
        (
            dataclasses.replace(low, value=first + span * index // parts),
            dataclasses.replace(low, value=first + span * (index + 1) // parts - 1),
        )
        for index in range(parts)
    ]


def ranges(home: SqlHome[Any], window: Window, partition: Partition) -> list[Range]:
    """The window's ranges of the partition column (min and max asked within the window)."""
    predicate, params = home.predicate(window)
    name = home.dialect.quote(partition.column)
    sql = (
        f"SELECT min({name}) AS low, max({name}) AS high"
        f" FROM ({home.relation(predicate)}) AS hygge_source"
    )
    found = pl.from_arrow(home.fetch(sql, params))
    assert isinstance(found, pl.DataFrame)
    refuse_unsplittable(home, partition.column, found["low"].dtype)
    fields = {f.name: getattr(window, f.name) for f in dataclasses.fields(Window)}
    low, high = Mark.max_of(found["low"]), Mark.max_of(found["high"])
    pairs = split(low, high, partition.count) if low and high else []
    for start, end in pairs:
        log.debug(
            "%s: range of %s from %s to %s",
            redact(home.describe()),
            partition.column,
            start.display(),
            end.display(),
        )
    nulls = Range(**fields, part=partition.column)
    return [Range(**fields, part=partition.column, start=s, end=e) for s, e in pairs] + [nulls]


@dataclass(frozen=True)
class _Done:
    """One thread has no ranges left."""


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def read(
    home: SqlHome[Any], window: Window, batch_rows: int, partition: Partition
) -> Generator[pl.DataFrame]:
    """The window's rows read range by range on parallel threads, yielded as they arrive."""
    todo: queue.SimpleQueue[Range] = queue.SimpleQueue()
    work = ranges(home, window, partition)
    for bounds in work:
        todo.put(bounds)
    workers = min(partition.count, len(work), home.connection_limit() or partition.count)
    out: queue.Queue[pl.DataFrame | _Done | _Failed] = queue.Queue(workers)
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_work,
            args=(home, todo, out, stop, batch_rows),
            name=f"{THREAD_NAME}-{index}",
            daemon=True,
        )
        for index in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        running = workers
        while running:
            item = out.get()
            if isinstance(item, _Failed):
                raise item.error
            if isinstance(item, _Done):
                running -= 1
            else:
                yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _work(
    home: SqlHome[Any],
    todo: queue.SimpleQueue[Range],
    out: queue.Queue[pl.DataFrame | _Done | _Failed],
    stop: threading.Event,
    batch_rows: int,
) -> None:
    try:
        while not stop.is_set():
            try:
                bounds = todo.get_nowait()
            except queue.Empty:
                break
            predicate, params = home.predicate(bounds)
            sql = home.relation(predicate)
            home.dialect.log(home.describe(), sql, params)
            batches = home.stream(sql, params, batch_rows)
            with contextlib.closing(batches):  # type: ignore[type-var]
                for batch in batches:
                    frame = to_frame(batch)
                    if frame.height and not _put(out, frame, stop):
                        return
        _put(out, _Done(), stop)
    except BaseException as exc:
        _put(out, _Failed(exc), stop)


def _put(out: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put unless the reader has stopped listening; False when it has."""
    return put_while(out, item, lambda: not stop.is_set())
