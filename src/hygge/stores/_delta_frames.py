"""Frames in the types a Delta table holds, and the staged rows read back for a commit.

Delta has no unsigned integers, no time of day or duration, no nanoseconds, and keeps every
timezone-aware timestamp in UTC. delta-rs casts an unsigned column into the signed type of
the same width (200 as UInt8 would become -56), and truncates nanoseconds. So each batch is
brought into Delta's types here first, exactly or not at all:
- UInt8/16/32 widen to the next signed integer; UInt64 becomes decimal(20, 0);
- Categorical and Enum become strings, fixed-size arrays lists;
- timestamps become microseconds (in UTC when they carry a zone); a nanosecond timestamp
  with sub-microsecond digits, and the types Delta lacks, fail naming the column.
Nested types are passed as they are (delta-rs judges them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import polars as pl
import pyarrow as pa

from hygge.errors import StoreError
from hygge.stores._one_per_key import SHOWN, ambiguous_versions

_WIDER: dict[type[pl.DataType], pl.DataType] = {
    pl.UInt8: pl.Int16(),
    pl.UInt16: pl.Int32(),
    pl.UInt32: pl.Int64(),
    pl.UInt64: pl.Decimal(20, 0),
}
_LACKING = (pl.Time, pl.Duration, pl.Int128, pl.UInt128, pl.Object, pl.Float16)
ROWS = "_hygge_rows"


def delta_frame(frame: pl.DataFrame, where: str) -> pl.DataFrame:
    """frame in Delta's types, or a StoreError naming the first column Delta cannot hold."""
    columns = [_delta_column(frame, name, dtype, where) for name, dtype in frame.schema.items()]
    if all(column is None for column in columns):
        return frame  # the usual batch: nothing to convert
    return frame.select(
        column if column is not None else pl.col(name)
        for column, name in zip(columns, frame.columns, strict=True)
    )


def _delta_column(frame: pl.DataFrame, name: str, dtype: pl.DataType, where: str) -> pl.Expr | None:
    """The conversion of one column into Delta's type; None when it needs none."""
    column = pl.col(name)
    if isinstance(dtype, _LACKING):
        raise StoreError(
            f"{where}: column {name!r} is {dtype}, a type Delta tables do not have",
            hint=f"cast {name!r} in the source (to a string, or a number of a unit)",
        )
    wider = _WIDER.get(dtype.base_type())
    if wider is not None:
        return column.cast(wider)
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return column.cast(pl.String)
    if isinstance(dtype, pl.Array):
        return column.cast(pl.List(dtype.inner))
    if not isinstance(dtype, pl.Datetime):
        return None
    if dtype.time_unit == "ns":
        _refuse_nanoseconds(frame, name, where)
    if dtype.time_unit == "us" and dtype.time_zone in (None, "UTC"):
        return None
    if dtype.time_zone not in (None, "UTC"):
        column = column.dt.convert_time_zone("UTC")
    return column.dt.cast_time_unit("us")


def _refuse_nanoseconds(frame: pl.DataFrame, name: str, where: str) -> None:
    lost = frame.select((pl.col(name).dt.nanosecond() % 1000 != 0).arg_true().first()).item()
    if lost is not None:
        raise StoreError(
            f"{where}: column {name!r} holds nanoseconds (row {lost} of a batch), and Delta"
            " timestamps keep microseconds",
            hint=f"truncate {name!r} to microseconds in the source",
        )


def conformed(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """frame in the load's final columns: those added after it was staged are null."""
    if frame.schema == schema:
        return frame
    return frame.select(
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in schema.items()
    )


def arrow_schema(schema: pl.Schema) -> pa.Schema:
    return pl.DataFrame(schema=schema).to_arrow().schema


def staged_stream(
    files: Sequence[Path], schema: pl.Schema, at_end: Callable[[], None]
) -> pa.RecordBatchReader:
    """The staged files as one Arrow stream in `schema`; `at_end` runs once the last batch is
    handed over. Files all in `schema` (the usual case) are passed on batch by batch as they
    are stored (not memory-mapped: mapped pages would stay resident until the commit);
    otherwise (columns added mid-run) each is read and conformed."""
    stored = _stored_schema(files, schema)
    if stored is not None:
        return pa.RecordBatchReader.from_batches(stored, _stored_batches(files, at_end))

    def conformed_batches() -> Iterator[pa.RecordBatch]:
        for file in files:
            yield from conformed(pl.read_ipc(file), schema).to_arrow().to_batches()
        at_end()

    return pa.RecordBatchReader.from_batches(arrow_schema(schema), conformed_batches())


def _stored_schema(files: Sequence[Path], schema: pl.Schema) -> pa.Schema | None:
    """The Arrow schema every file is stored in, when they share one that is `schema`."""
    stored = [_file_schema(file) for file in files]
    if not stored or any(other != stored[0] for other in stored):
        return None
    return stored[0] if pl.DataFrame(stored[0].empty_table()).schema == schema else None


def _file_schema(file: Path) -> pa.Schema:
    with pa.OSFile(str(file), "r") as handle:
        return pa.ipc.open_file(handle).schema


def _stored_batches(files: Sequence[Path], at_end: Callable[[], None]) -> Iterator[pa.RecordBatch]:
    """Each file's batches, read one at a time into memory."""
    for file in files:
        with pa.OSFile(str(file), "r") as handle:
            reader = pa.ipc.open_file(handle)
            for number in range(reader.num_record_batches):
                yield reader.get_batch(number)
    at_end()


def newest_per_key(
    files: Sequence[Path], schema: pl.Schema, keys: Sequence[str], version: str | None
) -> pl.DataFrame | None:
    """The staged rows with one row per key, the greatest `version` winning and exact copies
    counting once (the rule of `_one_per_key`); None when no key repeats (the common case,
    one aggregate), else the kept rows, or a StoreError naming keys no version orders."""
    rows = pl.concat([pl.scan_ipc(file).pipe(_lazy_conformed, schema) for file in files])
    if _repeated(rows, keys).is_empty():
        return None
    if version is not None and version in schema:
        newest = pl.col(version).max().over(keys)
        rows = rows.filter(pl.col(version).eq_missing(newest))
    kept = rows.unique(maintain_order=True).collect()
    still = _repeated(kept.lazy(), keys)
    if not still.is_empty():
        raise ambiguous_versions(still.rows(), keys, version)
    return kept


def _lazy_conformed(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    present = frame.collect_schema()
    return frame.select(
        pl.col(name).cast(dtype) if name in present else pl.lit(None, dtype).alias(name)
        for name, dtype in schema.items()
    )


def _repeated(rows: pl.LazyFrame, keys: Sequence[str]) -> pl.DataFrame:
    """A few key values that rows hold more than once."""
    counted = rows.group_by(keys).agg(pl.len().alias(ROWS)).filter(pl.col(ROWS) > 1)
    return counted.select(keys).head(SHOWN).collect()
