"""A SQL Server table or query as a home, streamed with `fetchmany` into Arrow batches.

Column types come from the server, not from values: `sys.dm_exec_describe_first_result_set`
describes the statement before it runs, and `hygge.stores._mssql_sql.polars_type` maps each
column (integers by width, tinyint as UInt8, bit as Boolean, decimal(p,s) and money exact,
date, time, datetime2 in microseconds, datetimeoffset in UTC, binary types as Binary, text
and everything else as String). So an empty or all-NULL batch keeps its types. Rows arrive as
tuples in `fetchmany(batch_rows)` chunks and are turned into Arrow column by column.

T-SQL has no TRUE and no LIMIT: the empty window is `1=1`, schema() only describes. The
window's values are quoted by the driver's own function (see `render`), never formatted in
by hygge. A zoned Mark is compared in UTC (a datetimeoffset compares by its instant).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC
from typing import Any, Literal

import polars as pl
import pyarrow as pa
from pymssql import _mssql

from hygge.connections import server_target
from hygge.errors import SourceError
from hygge.homes._sql import ServerHome, ServerHomeConfig
from hygge.mssql import MsSqlConfig, connect, execute
from hygge.plugin import Home
from hygge.stores._mssql_sql import polars_type, quote
from hygge.watermark import Mark

_SLOT = "\0?"  # where bind() put a parameter; NUL cannot occur in SQL text
_EVERYTHING = "1=1"


class MsSqlHomeConfig(ServerHomeConfig, MsSqlConfig):
    type: Literal["mssql"] = "mssql"


class MsSqlHome(ServerHome):
    Config = MsSqlHomeConfig
    config: MsSqlHomeConfig
    trivial = "SELECT 1 AS one"
    everything = _EVERYTHING

    def table_home(self) -> tuple[str, str, bool] | None:
        return server_target(self.config, 1433).lower(), "dbo", True

    def quote_name(self, identifier: str) -> str:
        return quote(identifier)

    # Types come from the catalog (a result's are coarse), and T-SQL has no LIMIT: ask both.
    column_bounds = Home.column_bounds

    def schema(self) -> pl.Schema:
        with connect(self.config, self.context, SourceError) as con:
            columns = self._columns(con, self.relation(_EVERYTHING))
        return pl.Schema({name: polars_type(kind) for name, kind in columns})

    def bind(self, mark: Mark) -> tuple[str, Any]:
        value = mark.as_python()
        if getattr(value, "tzinfo", None) is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return _SLOT, value

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        with self._result(sql, params) as (cursor, schema):
            while rows := cursor.fetchmany(batch_rows):
                yield to_batch(rows, schema)

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        with self._result(sql, params) as (cursor, schema):
            rows = cursor.fetchall()
        return pa.Table.from_batches([to_batch(rows, schema)] if rows else [], schema)

    @contextlib.contextmanager
    def _result(self, sql: str, params: list[Any]) -> Iterator[tuple[Any, pa.Schema]]:
        """A cursor that ran sql (its values rendered in), and the Arrow schema of its rows."""
        with connect(self.config, self.context, SourceError) as con:
            text = render(sql, params)
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


def render(sql: str, params: list[Any]) -> str:
    """sql with each of bind()'s slots replaced by its value as pymssql quotes it.

    pymssql has no server-side parameters: its `execute` quotes values into the text itself,
    and would also fill in any `%s` or `%d` the user's query holds (`LIKE '%done%'`). So hygge
    calls the driver's own quoting (`quote_simple_value`) and the text runs without params.
    """
    parts = sql.split(_SLOT)
    if len(parts) != len(params) + 1:
        raise SourceError(f"the query has {len(parts) - 1} parameter slots for {len(params)}")
    out = [parts[0]]
    for value, part in zip(params, parts[1:], strict=True):
        out += [_mssql.quote_simple_value(value, use_datetime2=True).decode(), part]
    return "".join(out)


def arrow_schema(columns: list[tuple[str, str]]) -> pa.Schema:
    """(name, SQL Server type) pairs as an Arrow schema, through the Polars type mapping."""
    frame = pl.DataFrame(schema={name: polars_type(kind) for name, kind in columns})
    return frame.to_arrow().schema


def to_batch(rows: Any, schema: pa.Schema) -> pa.RecordBatch:
    """Row tuples as one Arrow batch, built column by column in the schema's types; a text
    column the driver hands over as objects (uniqueidentifier, sql_variant) becomes their text."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for values, field in zip(columns, schema, strict=True):
        try:
            arrays.append(pa.array(values, field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            if not pa.types.is_large_string(field.type) and not pa.types.is_string(field.type):
                raise
            arrays.append(pa.array([None if v is None else str(v) for v in values], field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
