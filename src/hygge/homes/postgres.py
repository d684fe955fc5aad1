"""A PostgreSQL table or query as a home, streamed as Arrow batches through ADBC.

The window's values are bound as `$n` parameters with the Mark's Python value: PostgreSQL
keeps microseconds, which a Python datetime holds exactly. A read binds them into settings
of its session first and then runs without parameters (`hygge.engines.postgres.streamed`),
so ADBC streams it through binary COPY instead of holding the whole window in memory.
Batches are made exact by `hygge.engines.postgres.exact` (numeric(p,s) as decimals, unknown
types as text).

A large table is read in AUTO_RANGES ranges at once without `partition:` when the pool has a
connection to spare (reserved without waiting, as the coordinator reserves an entity's) and
the table has a one-column integer primary key or unique index: the server decodes and sends
each range on its own backend while the client decodes the others' batches.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator, Iterator
from typing import Any, Literal

import adbc_driver_postgresql.dbapi  # noqa: F401  (the driver: a missing one is reported early)
import polars as pl
import pyarrow as pa
from adbc_driver_manager import dbapi
from pydantic import ValidationError

from hygge.connections import pool_need, where
from hygge.engines.dialect import SLOT
from hygge.engines.postgres import (
    DEFAULT_SCHEMA,
    DIALECT,
    PgConfig,
    connect,
    database_target,
    exact,
    exact_schema,
    mapped,
    streamed,
)
from hygge.errors import SourceError
from hygge.homes._partition import Partition, read
from hygge.homes._sql import PartitionedHomeConfig, ServerHome, ServerHomeConfig
from hygge.plugin import Context, Window

_NOT_NULL = "hygge_not_null"  # column_bounds' extra answer
AUTO_RANGES = 2  # ranges read at once without `partition:`
AUTO_ROWS = 1_000_000  # the table's estimated rows (pg_class.reltuples) from which it splits
log = logging.getLogger(__name__)
# A one-column integer key to split on, primary key first, and the table's estimated rows.
_SPLIT_KEY = f"""
SELECT a.attname AS key, c.reltuples AS estimate
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = to_regclass({SLOT}) AND i.indisunique AND i.indnatts = 1
  AND i.indpred IS NULL AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
ORDER BY i.indisprimary DESC, a.attnum
LIMIT 1
"""


class PostgresHomeConfig(ServerHomeConfig, PartitionedHomeConfig, PgConfig):
    type: Literal["postgres"] = "postgres"


class PostgresHome(ServerHome[PostgresHomeConfig]):
    Config = PostgresHomeConfig
    dialect = DIALECT

    def __init__(self, config: PostgresHomeConfig, context: Context) -> None:
        super().__init__(config, context)
        self._nullable: dict[str, bool] = {}

    def table_home(self) -> tuple[str, str, bool] | None:
        return database_target(self.config), DEFAULT_SCHEMA, False

    def row_estimate(self, table: str) -> tuple[str, list[Any]]:
        """The planner's count (pg_class.reltuples): -1, so none, until first analyzed."""
        sql = f"SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass({SLOT})"
        return sql, [self.dialect.table(table)]

    def batches(self, window: Window, batch_rows: int) -> Generator[pl.DataFrame]:
        """A declared partition, a query, an incremental window (a few new rows: splitting
        costs more round trips than it saves) or a pool with no connection to spare read as
        ever; otherwise a large table with a key to split on reads in ranges."""
        if self.partition() is not None or self.config.table is None or window.lower is not None:
            yield from super().batches(window, batch_rows)
            return
        with self._spare_connections() as spare:
            ranges = self._automatic_ranges() if spare else None
            if ranges is None:
                yield from super().batches(window, batch_rows)
                return
            self._require_window(window.column)
            log.debug("%s: read in %d ranges of %s", self.describe(), ranges.count, ranges.column)
            yield from read(self, window, batch_rows, ranges)

    @contextlib.contextmanager
    def _spare_connections(self) -> Iterator[bool]:
        """Reserve the connections the ranges read on besides the entity's own, if the pool
        has them free now (never waiting); given back when the read ends."""
        extra = pool_need(self.config, AUTO_RANGES - 1)
        pools = self.context.pools
        if (self.connection_limit() or 1) < AUTO_RANGES or not pools.reserve(extra):
            yield False
            return
        try:
            yield True
        finally:
            pools.release(extra)

    def _automatic_ranges(self) -> Partition | None:
        """The table's split on its key, if it has one and holds AUTO_ROWS rows or more by
        the planner's estimate (a table never analysed has none: -1)."""
        table = self.dialect.table(self.config.table or "")
        rows = self.fetch(_SPLIT_KEY, [table]).to_pylist()
        if not rows or rows[0]["estimate"] < AUTO_ROWS:
            return None
        try:
            return Partition(column=str(rows[0]["key"]), count=AUTO_RANGES)
        except ValidationError:  # a name `partition` would refuse: read it in one go
            return None

    def may_hold_nulls(self, column: str) -> bool:
        """From the table's catalog, learnt with the column's bounds (or asked once here).
        PostgreSQL 15 plans `range OR col IS NULL` as a bitmap scan, often parallel: several
        times slower than the plain index range scan it can use when the column is declared
        NOT NULL."""
        if self.config.table is None:
            return True
        if column not in self._nullable:
            sql, params = self._not_null(column)
            rows = self.fetch(f"SELECT {sql} AS not_null", params).to_pylist()
            self._nullable[column] = not rows[0]["not_null"]
        return self._nullable[column]

    def bounds_extra(self, column: str) -> tuple[str, list[Any]]:
        if self.config.table is None:
            return "", []
        sql, params = self._not_null(column)
        return f", {sql} AS {_NOT_NULL}", params

    def bounds_seen(self, column: str, top: pl.DataFrame) -> None:
        if _NOT_NULL in top.columns and top.height:
            self._nullable[column] = not top[_NOT_NULL][0]

    def _not_null(self, column: str) -> tuple[str, list[Any]]:
        """Whether the table declares column NOT NULL, as a scalar subquery."""
        table = self.dialect.table(self.config.table or "")
        sql = (
            "(SELECT a.attnotnull FROM pg_attribute a"
            f" WHERE a.attrelid = to_regclass({SLOT}) AND a.attname = {SLOT})"
        )
        return sql, [table, column]

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        binding, query = streamed(sql, params)
        with connect(self.config, self.context, SourceError) as con, con.cursor() as cursor:
            if binding is not None:
                cursor.execute(*binding)
                cursor.fetchall()
            cursor.execute(query)
            for batch in self._record_batches(cursor):
                batch = exact(batch)
                for offset in range(0, batch.num_rows, batch_rows):
                    yield batch.slice(offset, batch_rows)

    def _record_batches(self, cursor: dbapi.Cursor) -> Iterator[pa.RecordBatch]:
        """The result's batches. A connection lost mid-stream surfaces from Arrow's reader
        as a bare OSError quoting libpq; it is the driver's error, mapped like the others."""
        reader = cursor.fetch_record_batch()
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except OSError as exc:
                raise mapped(exc, where(self.config), SourceError) from exc
            yield batch

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        with connect(self.config, self.context, SourceError) as con, con.cursor() as cursor:
            cursor.execute(*self.dialect.finish(sql, params))
            table = cursor.fetch_arrow_table()
        return pa.Table.from_batches(
            [exact(b) for b in table.to_batches()], exact_schema(table.schema)
        )
