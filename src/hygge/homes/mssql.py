"""A SQL Server table or query as a home, read by the driver straight into Arrow batches.

mssql-python's `Cursor.arrow_batch` fills Arrow buffers from the result set itself, so rows
never become Python objects; `hygge.engines.mssql.conform` brings its timestamps and times to
microseconds. The schema comes from the server, not from values:
`sys.dm_exec_describe_first_result_set` describes the statement (T-SQL has no LIMIT), mapped
by `hygge.engines.mssql.polars_type`. The window's values are bound `?` parameters.
`partition:` reads a table in parallel ranges, as for PostgreSQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import mssql_python  # noqa: F401  (the driver: a missing one is reported early)
import polars as pl
import pyarrow as pa

from hygge.engines.mssql import (
    DEFAULT_SCHEMA,
    DIALECT,
    MsSqlConfig,
    conform,
    connect,
    database_target,
    execute,
    polars_type,
)
from hygge.errors import SourceError
from hygge.homes._sql import PartitionedHomeConfig, ServerHome, ServerHomeConfig
from hygge.plugin import Home

_FETCH_ROWS = 65_536
DESCRIBE = (
    "SELECT name, system_type_name FROM sys.dm_exec_describe_first_result_set(?, NULL, 0)"
    " WHERE is_hidden = 0 ORDER BY column_ordinal"
)


class MsSqlHomeConfig(ServerHomeConfig, PartitionedHomeConfig, MsSqlConfig):
    type: Literal["mssql"] = "mssql"


class MsSqlHome(ServerHome[MsSqlHomeConfig]):
    Config = MsSqlHomeConfig
    trivial = "SELECT 1 AS one"
    dialect = DIALECT

    def table_home(self) -> tuple[str, str, bool] | None:
        return database_target(self.config), DEFAULT_SCHEMA, True

    # Types come from the catalog (a result's are coarse), and T-SQL has no LIMIT: ask both.
    column_bounds = Home.column_bounds

    def schema(self) -> pl.Schema:
        with connect(self.config, self.context, SourceError) as con:
            columns = self._columns(con, self.relation(self.dialect.everything))
        return self.shaper.cast_schema(
            pl.Schema({name: polars_type(kind) for name, kind in columns})
        )

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        with self._result(sql, params) as cursor:
            while True:
                batch = conform(cursor.arrow_batch(batch_rows))
                yield batch
                if batch.num_rows < batch_rows:
                    return

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        with self._result(sql, params) as cursor:
            batches: list[pa.RecordBatch] = []
            while (batch := conform(cursor.arrow_batch(_FETCH_ROWS))).num_rows or not batches:
                batches.append(batch)
                if batch.num_rows < _FETCH_ROWS:
                    break
        return pa.Table.from_batches(batches)

    @contextlib.contextmanager
    def _result(self, sql: str, params: list[Any]) -> Iterator[Any]:
        """A cursor (mssql_python.Cursor) that ran sql with params bound."""
        with connect(self.config, self.context, SourceError) as con:
            cursor = con.cursor()
            try:
                text, bound = self.dialect.finish(sql, params)
                execute(cursor, text, bound or ())
                yield cursor
            finally:
                cursor.close()

    def _columns(self, con: Any, sql: str) -> list[tuple[str, str]]:
        """(name, SQL Server type) of each column sql returns, described by the server."""
        cursor = con.cursor()
        try:
            execute(cursor, DESCRIBE, (sql,))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [(str(name), str(kind)) for name, kind in rows]
