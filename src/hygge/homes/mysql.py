"""A MariaDB/MySQL table or query as a home, streamed with an unbuffered cursor.

Rows are read with PyMySQL's `SSCursor` (the server streams, the client holds one batch) in
`fetchmany(batch_rows)` chunks; each chunk becomes Arrow column by column, with the Arrow type
taken from the result's column metadata, not guessed from values, so an empty or all-NULL
batch keeps its types. The mapping: integers by width and UNSIGNED flag, `tinyint(1)` (what
BOOLEAN is) as Boolean, FLOAT/DOUBLE, DECIMAL(p,s) exact, DATE, DATETIME as naive
microseconds, TIMESTAMP in UTC (the session's zone), TIME as a Duration (MySQL's TIME spans
+-838 hours), text as String, binary strings and blobs as Binary, anything else as text.

The window goes down as PyMySQL parameters (`%s`, escaped by the driver, never formatted in
by hygge); a `%` in the user's query is doubled first so the driver keeps it literal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from typing import Any, Literal

import pyarrow as pa
import pymysql.cursors
from pymysql.constants import FIELD_TYPE, FLAG

from hygge.connections import server_target
from hygge.errors import SourceError
from hygge.homes._sql import PartitionedHomeConfig, ServerHome, ServerHomeConfig
from hygge.mysql import MySqlConfig, connect, quote
from hygge.watermark import Mark

_SLOT = "\0?"  # where bind() put a parameter; NUL cannot occur in SQL text
_BINARY_CHARSET = 63
_INTS = {
    FIELD_TYPE.TINY: (pa.int8(), pa.uint8()),
    FIELD_TYPE.SHORT: (pa.int16(), pa.uint16()),
    FIELD_TYPE.INT24: (pa.int32(), pa.uint32()),
    FIELD_TYPE.LONG: (pa.int32(), pa.uint32()),
    FIELD_TYPE.LONGLONG: (pa.int64(), pa.uint64()),
    FIELD_TYPE.YEAR: (pa.int16(), pa.uint16()),
}
_FIXED = {
    FIELD_TYPE.FLOAT: pa.float32(),
    FIELD_TYPE.DOUBLE: pa.float64(),
    FIELD_TYPE.DATE: pa.date32(),
    FIELD_TYPE.DATETIME: pa.timestamp("us"),
    FIELD_TYPE.TIMESTAMP: pa.timestamp("us", "UTC"),
    FIELD_TYPE.TIME: pa.duration("us"),
    FIELD_TYPE.BIT: pa.binary(),
    FIELD_TYPE.GEOMETRY: pa.binary(),
}


class MySqlHomeConfig(ServerHomeConfig, PartitionedHomeConfig, MySqlConfig):
    type: Literal["mysql"] = "mysql"


class MySqlHome(ServerHome):
    Config = MySqlHomeConfig
    config: MySqlHomeConfig

    def table_home(self) -> tuple[str, str, bool] | None:
        """A MySQL schema is a database: an unqualified table is the URL's database's."""
        return server_target(self.config, 3306, database=""), self.config.database(), True

    def quote_name(self, identifier: str) -> str:
        return quote(identifier)

    def bind(self, mark: Mark) -> tuple[str, Any]:
        value = mark.as_python()
        if getattr(value, "tzinfo", None) is not None:  # stored in UTC, compared naive
            value = value.astimezone(UTC).replace(tzinfo=None)
        return _SLOT, value

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        with connect(self.config, self.context, SourceError) as con:
            cursor = con.cursor(pymysql.cursors.SSCursor)
            try:
                _execute(cursor, sql, params)
                schema = arrow_schema(cursor)
                while rows := cursor.fetchmany(batch_rows):
                    yield to_batch(rows, schema)
            finally:
                cursor.close()

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        with connect(self.config, self.context, SourceError) as con, con.cursor() as cursor:
            _execute(cursor, sql, params)
            schema = arrow_schema(cursor)
            rows = cursor.fetchall()
        return pa.Table.from_batches([to_batch(rows, schema)] if rows else [], schema)


def _execute(cursor: Any, sql: str, params: list[Any]) -> None:
    if params:
        cursor.execute(sql.replace("%", "%%").replace(_SLOT, "%s"), params)
    else:
        cursor.execute(sql)


def arrow_schema(cursor: Any) -> pa.Schema:
    """The result's columns as Arrow fields, from the server's column metadata."""
    fields = cursor._result.fields  # PyMySQL's column metadata: type, flags, charset, scale
    return pa.schema([pa.field(f.name, _arrow_type(f)) for f in fields])


def _arrow_type(field: Any) -> pa.DataType:
    code, unsigned = field.type_code, bool(field.flags & FLAG.UNSIGNED)
    if code == FIELD_TYPE.TINY and field.length == 1 and not unsigned:
        return pa.bool_()
    if code in _INTS:
        return _INTS[code][unsigned]
    if code in (FIELD_TYPE.NEWDECIMAL, FIELD_TYPE.DECIMAL):
        precision = field.length - (field.scale > 0) - (not unsigned)
        precision = max(precision, field.scale, 1)
        if precision <= 38:
            return pa.decimal128(precision, field.scale)
        return pa.decimal256(precision, field.scale)
    if code in _FIXED:
        return _FIXED[code]
    binary = field.charsetnr == _BINARY_CHARSET and code != FIELD_TYPE.JSON
    return pa.binary() if binary else pa.string()


def to_batch(rows: Any, schema: pa.Schema) -> pa.RecordBatch:
    """Row tuples as one Arrow batch, built column by column in the schema's types."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for values, field in zip(columns, schema, strict=True):
        if pa.types.is_boolean(field.type):
            arrays.append(pa.array(values, pa.int8()).cast(pa.bool_()))
        elif pa.types.is_timestamp(field.type) and field.type.tz is not None:
            arrays.append(pa.array(values, pa.timestamp("us")).cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
