"""A DuckDB database file as a home, opened READ_ONLY and streamed as Arrow batches.

Datetime window bounds are bound as the Mark's epoch integer and turned into a timestamp in
SQL (`make_timestamp_ns(?)`, `make_timestamp(?)`): `Mark.as_python()` gives a Python
datetime, which has microseconds only, so a nanosecond watermark would be rounded and rows
at the boundary lost or read twice. Every connection works in UTC, so TIMESTAMPTZ columns
arrive as `Datetime(tz="UTC")` whatever the machine's zone is.

DuckDB lets one process write a file and refuses a READ_ONLY connection in a process that
has the same file open for writing: a flow cannot (yet) read and write one DuckDB file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import duckdb
import pyarrow as pa

from hygge.errors import EntityError, RetryableError, SourceError
from hygge.homes._sql import FileDatabaseConfig, FileDatabaseHome, PartitionedHomeConfig
from hygge.watermark import Mark


class DuckDbHomeConfig(FileDatabaseConfig, PartitionedHomeConfig):
    type: Literal["duckdb"] = "duckdb"


class DuckDbHome(FileDatabaseHome):
    Config = DuckDbHomeConfig
    config: DuckDbHomeConfig

    def bind(self, mark: Mark) -> tuple[str, Any]:
        if mark.kind != "datetime":
            return super().bind(mark)
        value = int(mark.value)
        if mark.unit == "ns" and mark.tz is None:
            return "make_timestamp_ns(CAST(? AS BIGINT))", value
        micros = {"ms": value * 1000, "ns": value // 1000}.get(mark.unit or "us", value)
        timestamp = "make_timestamp(CAST(? AS BIGINT))"
        return (f"({timestamp} AT TIME ZONE 'UTC')" if mark.tz else timestamp), micros

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        with self._connection() as con:
            yield from con.sql(sql, params=params).to_arrow_reader(batch_rows)

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        with self._connection() as con:
            return con.sql(sql, params=params).to_arrow_table()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection in UTC; every DuckDB error inside leaves as a hygge error."""
        self.require_file()
        try:
            con = duckdb.connect(self.path, read_only=True)
            try:
                con.execute("SET SESSION TimeZone = 'UTC'")
                yield con
            finally:
                con.close()
        except duckdb.Error as exc:
            raise _mapped(exc, self.path) from exc


def _mapped(exc: duckdb.Error, path: str) -> EntityError:
    """The one place DuckDB errors become hygge errors: a file locked by a writer is
    transient (retried), anything else fails the entity."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    message = f"cannot read {path}: {detail}"
    if isinstance(exc, duckdb.IOException) and "lock" in detail.lower():
        return RetryableError(message, hint="another process is writing the database")
    return SourceError(message)
