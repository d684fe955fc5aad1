"""Arrow from database drivers made fit for Polars, in Arrow, without a row loop.

Two Arrow types from drivers stop Polars. Intervals (month-day-nanosecond): one without
months is a duration, exact to the microsecond these databases keep; a month has no fixed
length, so an interval with months is refused, naming the column, rather than given a guessed
length. Decimals of more than 38 digits (MySQL's decimal(65,30), PostgreSQL's numeric(50,10)):
Polars holds 38, so they arrive as their exact text, as an unconstrained numeric does.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from hygge.errors import SourceError

INTERVAL = pa.month_day_nano_interval()
_DAY_MICROS = 86_400_000_000
_LOW_WORD = pa.scalar(0xFFFFFFFF, pa.int64())  # the months: the low half of a packed word
_ZERO = pa.scalar(0, pa.int64())


def to_frame(data: pa.RecordBatch | pa.Table) -> pl.DataFrame:
    """data as a DataFrame: intervals as durations, wide decimals as text."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
    for index, field in enumerate(table.schema):
        if field.type == INTERVAL:
            table = table.set_column(index, field.name, _durations(table.column(index), field.name))
        elif isinstance(field.type, pa.Decimal256Type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.string()))
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _durations(column: pa.ChunkedArray[Any], name: str) -> pa.ChunkedArray[Any]:
    chunks = [_duration(chunk, name) for chunk in column.chunks]
    return pa.chunked_array(chunks, pa.duration("us"))


def _duration(column: pa.Array[Any], name: str) -> pa.Array[Any]:
    """Microseconds from the 16-byte values: months int32, days int32, nanoseconds int64."""
    words = pa.Array.from_buffers(
        pa.int64(), 2 * (column.offset + len(column)), [None, column.buffers()[1]]
    )
    pairs = pa.FixedSizeListArray.from_arrays(words, 2).slice(column.offset, len(column))
    packed, nanos = pc.list_element(pairs, 0), pc.list_element(pairs, 1)
    valid = column.is_valid()
    months = pc.not_equal(pc.bit_wise_and(packed, _LOW_WORD), _ZERO)
    if pc.any(pc.and_(valid, months)).as_py():
        raise SourceError(
            f"column {name!r} holds intervals with months, which have no fixed length",
            hint=f"select it as text or as seconds in a query, e.g. EXTRACT(EPOCH FROM {name})",
        )
    days = pc.shift_right(packed, 32)
    micros = pc.add(pc.multiply(days, _DAY_MICROS), pc.divide(nanos, 1000))
    durations = pc.if_else(valid, micros, None)
    assert isinstance(durations, pa.Array)
    return durations.cast(pa.duration("us"))
