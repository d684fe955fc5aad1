"""A PostgreSQL table or query as a home, streamed as Arrow batches through ADBC.

The window's values are bound as `$n` parameters with the Mark's Python value: PostgreSQL
keeps microseconds, which a Python datetime holds exactly. A read binds them into settings
of its session first and then runs without parameters (`hygge.engines.postgres.streamed`),
so ADBC streams it through binary COPY instead of holding the whole window in memory.
Batches are made exact by `hygge.engines.postgres.exact` (numeric(p,s) as decimals, unknown
types as text).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import adbc_driver_postgresql.dbapi  # noqa: F401  (the driver: a missing one is reported early)
import polars as pl
import pyarrow as pa
from adbc_driver_manager import dbapi

from hygge.connections import where
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
from hygge.homes._sql import PartitionedHomeConfig, ServerHome, ServerHomeConfig
from hygge.plugin import Context

_NOT_NULL = "hygge_not_null"  # column_bounds' extra answer


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
