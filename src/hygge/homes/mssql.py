"""A SQL Server table or query as a home, streamed with `fetchmany` into Arrow batches.

Column types come from the server, not from values: `sys.dm_exec_describe_first_result_set`
describes the statement before it runs, and `hygge.engines.mssql.polars_type` maps each
column. So an empty or all-NULL batch keeps its types. Rows arrive as tuples in
`fetchmany(batch_rows)` chunks and are turned into Arrow column by column. T-SQL has no
LIMIT: schema() only describes. The window's values are quoted into the text by the driver's
own function (see `hygge.engines.mssql`), never formatted in by hygge.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import polars as pl
import pyarrow as pa
import pymssql  # noqa: F401  (the driver: a missing one is reported early)

from hygge.engines.cursor import Cursor
from hygge.engines.mssql import (
    DEFAULT_SCHEMA,
    DIALECT,
    MsSqlConfig,
    arrow_schema,
    connect,
    database_target,
    execute,
    polars_type,
    to_batch,
)
from hygge.errors import SourceError
from hygge.homes._sql import ServerHome, ServerHomeConfig
from hygge.plugin import Home


class MsSqlHomeConfig(ServerHomeConfig, MsSqlConfig):
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
        return pl.Schema({name: polars_type(kind) for name, kind in columns})

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        with self._result(sql, params) as (cursor, schema):
            while rows := cursor.fetchmany(batch_rows):
                yield to_batch(rows, schema)

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        with self._result(sql, params) as (cursor, schema):
            rows = cursor.fetchall()
        return pa.Table.from_batches([to_batch(rows, schema)] if rows else [], schema)

    @contextlib.contextmanager
    def _result(self, sql: str, params: list[Any]) -> Iterator[tuple[Cursor, pa.Schema]]:
        """A cursor that ran sql (its values rendered in), and the Arrow schema of its rows."""
        with connect(self.config, self.context, SourceError) as con:
            text, _ = self.dialect.finish(sql, params)
            schema = self._describe(con, text)
            cursor = con.cursor()
            try:
                execute(cursor, text)
                yield cursor, schema
            finally:
                cursor.close()

    def _describe(self, con: Any, sql: str) -> pa.Schema:
        """The columns sql returns, as Arrow fields, from the server's description."""
        return arrow_schema(self._columns(con, sql))

    def _columns(self, con: Any, sql: str) -> list[tuple[str, str]]:
        """(name, SQL Server type) of each column sql returns, described by the server."""
        cursor = con.cursor()
        try:
            execute(
                cursor,
                "SELECT name, system_type_name FROM sys.dm_exec_describe_first_result_set"
                "(%s, NULL, 0) WHERE is_hidden = 0 ORDER BY column_ordinal",
                (sql,),
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [(str(name), str(kind)) for name, kind in rows]
