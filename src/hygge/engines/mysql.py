"""MariaDB/MySQL, for the mysql home and store: its driver, dialect, types and identity.

Driver: PyMySQL, because it is maintained, pure Python (no client library to build), and has
an unbuffered server-side cursor (`SSCursor`) to stream reads in bounded memory and
client-side `LOAD DATA LOCAL INFILE` for bulk loads. connectorx reads MySQL into Arrow faster
but cannot bind parameters, and the window must never be spliced into SQL text. Pooling
follows hygge.engines.postgres. Connections run in autocommit with the session time zone at
UTC, so TIMESTAMP columns read and write in UTC; a store publishes with an explicit START
TRANSACTION ... COMMIT. Driver messages pass through `redact`; a refused login is final, a
lost or refused connection, deadlock or lock timeout is retried.

Dialect: names in backticks; bound values are PyMySQL's `%s` (escaped by the driver, never
formatted in by hygge), so every other `%` of the statement is doubled first. A zoned Mark
is compared as naive UTC, which is what a TIMESTAMP or DATETIME column holds.

Types, written (chosen so the mysql home reads every column back as the type it left as):
Int8..Int64 -> tinyint..bigint, UInt8..UInt64 -> the same `unsigned`, Float32 -> float,
Float64 -> double, Decimal(p,s) -> decimal(p,s), String/Categorical/Enum/Null -> longtext
(utf8mb4, binary collation so keys compare exactly), Boolean -> tinyint(1) (MySQL's BOOLEAN),
Date -> date, Datetime -> datetime(6) (a zoned one converted to UTC: MySQL keeps no zone),
Time -> time(6), Duration -> time(6) is not offered (TIME cannot hold every duration),
Binary -> longblob. Nested types stop the load naming the column. The CSV that LOAD DATA
reads is written by Polars with every non-numeric value quoted and NULL as an unquoted `NULL`
(read with `ESCAPED BY ''`), so a string "NULL" stays a string and backslashes stay literal;
Binary goes as hex and is UNHEXed by the LOAD DATA statement.

Types, read (`arrow_schema`, from the result's column metadata, not guessed from values, so
an empty or all-NULL batch keeps its types): integers by width and UNSIGNED flag,
`tinyint(1)` as Boolean, FLOAT/DOUBLE, DECIMAL(p,s) exact, DATE, DATETIME as naive
microseconds, TIMESTAMP in UTC (the session's zone), TIME as a Duration (MySQL's TIME spans
+-838 hours), text as String, binary strings and blobs as Binary, anything else as text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import polars as pl
import pyarrow as pa
from pymysql.constants import FIELD_TYPE, FLAG

from hygge.connections import DatabaseConfig, server_target
from hygge.engines.dialect import SLOT, Dialect
from hygge.engines.driver import BUSY, FINAL, Code, Driver, Verdict
from hygge.engines.types import simple_type
from hygge.errors import StoreError
from hygge.watermark import Mark

Connection = Any  # pymysql.connections.Connection (the driver is an optional extra)

PORT = 3306
NAME_LIMIT = 64  # the longest name MySQL keeps, in characters
_BINARY_CHARSET = 63
_INTS: dict[int, tuple[pa.DataType, pa.DataType]] = {
    FIELD_TYPE.TINY: (pa.int8(), pa.uint8()),
    FIELD_TYPE.SHORT: (pa.int16(), pa.uint16()),
    FIELD_TYPE.INT24: (pa.int32(), pa.uint32()),
    FIELD_TYPE.LONG: (pa.int32(), pa.uint32()),
    FIELD_TYPE.LONGLONG: (pa.int64(), pa.uint64()),
    FIELD_TYPE.YEAR: (pa.int16(), pa.uint16()),
}
_FIXED: dict[int, pa.DataType] = {
    FIELD_TYPE.FLOAT: pa.float32(),
    FIELD_TYPE.DOUBLE: pa.float64(),
    FIELD_TYPE.DATE: pa.date32(),
    FIELD_TYPE.DATETIME: pa.timestamp("us"),
    FIELD_TYPE.TIMESTAMP: pa.timestamp("us", "UTC"),
    FIELD_TYPE.TIME: pa.duration("us"),
    FIELD_TYPE.BIT: pa.binary(),
    FIELD_TYPE.GEOMETRY: pa.binary(),
}

# 2002/2003 cannot connect, 2006 gone away, 2013 lost, 1205 lock wait timeout, 1213 deadlock,
# 1040 too many connections, 1927 connection killed.
_TRANSIENT = {1040, 1205, 1213, 1927, 2002, 2003, 2006, 2013}
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class MySqlConfig(DatabaseConfig):
    """`connection` (a hygge.yml name; planning fills in its `url`) or an inline `url`,
    `mysql://user:password@host:port/database` (`mariadb://` too)."""

    url_schemes = ("mysql", "mariadb")

    def database(self) -> str:
        """The URL's database ('' when it names none)."""
        return unquote(urlsplit(self.url or "").path.lstrip("/"))


def quote(identifier: str) -> str:
    """An identifier in backticks (MySQL's quoting; a backtick inside is doubled)."""
    return "`" + identifier.replace("`", "``") + "`"


def database_target(config: DatabaseConfig) -> str:
    """The server a config reaches, as a destination identity (`Store.target`): a MySQL
    schema is a database, so `schema.table` names the rest. Whether MySQL tells `Orders`
    from `orders` depends on the server (lower_case_table_names): taken as one, to be safe."""
    return server_target(config, PORT, database="")


class MySqlDialect(Dialect):
    def quote(self, identifier: str) -> str:
        return quote(identifier)

    def bind(self, mark: Mark) -> tuple[str, Any]:
        value = mark.as_python()
        if getattr(value, "tzinfo", None) is not None:  # stored in UTC, compared naive
            value = value.astimezone(UTC).replace(tzinfo=None)
        return SLOT, value

    def finish(self, sql: str, params: Sequence[Any]) -> tuple[str, list[Any] | None]:
        """PyMySQL formats `%s` only when given parameters: then every other `%` doubles."""
        if not params:
            return sql, None
        return sql.replace("%", "%%").replace(SLOT, "%s"), list(params)


DIALECT = MySqlDialect()


def plain(name: str) -> str:
    """name, checked to be letters, digits and _ (what table and schema names may use)."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a plain name: use letters, digits and _")
    return name


def _open(url: str) -> Connection:
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")) or None,
        charset="utf8mb4",
        autocommit=True,
        local_infile=True,
        init_command="SET time_zone = '+00:00'",
        connect_timeout=10,
    )


def _judge(code: Code, detail: str) -> Verdict:
    return Verdict(retry=True, hint=BUSY) if code in _TRANSIENT else FINAL


DRIVER = Driver("mysql", "pymysql", _open, _judge, probe=lambda con: con.ping(reconnect=False))
connect = DRIVER.connect
mapped = DRIVER.mapped


_SIMPLE: dict[type[pl.DataType], str] = {
    pl.Int8: "tinyint",
    pl.Int16: "smallint",
    pl.Int32: "int",
    pl.Int64: "bigint",
    pl.UInt8: "tinyint unsigned",
    pl.UInt16: "smallint unsigned",
    pl.UInt32: "int unsigned",
    pl.UInt64: "bigint unsigned",
    pl.Float32: "float",
    pl.Float64: "double",
    pl.String: "longtext",
    pl.Categorical: "longtext",
    pl.Enum: "longtext",
    pl.Null: "longtext",
    pl.Boolean: "tinyint(1)",
    pl.Date: "date",
    pl.Time: "time(6)",
    pl.Binary: "longblob",
}
_INT_RANGE = {  # lowest, highest value of each integer column type
    "tinyint": (-(2**7), 2**7 - 1),
    "smallint": (-(2**15), 2**15 - 1),
    "mediumint": (-(2**23), 2**23 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
    "tinyint unsigned": (0, 2**8 - 1),
    "smallint unsigned": (0, 2**16 - 1),
    "mediumint unsigned": (0, 2**24 - 1),
    "int unsigned": (0, 2**32 - 1),
    "bigint unsigned": (0, 2**64 - 1),
    "tinyint(1)": (0, 1),
}
_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)")
_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")
_TEXTS = ("longtext", "mediumtext", "text")
_BLOBS = ("longblob", "mediumblob", "blob")


def column_type(name: str, dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        if (dtype.precision or 38) > 65 or dtype.scale > 30:
            raise StoreError(f"column {name!r} is {dtype}: MySQL decimals stop at (65,30)")
        return f"decimal({dtype.precision or 38},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "datetime(6)"
    return simple_type(name, dtype, _SIMPLE, "MySQL")


def table_ddl(types: dict[str, str]) -> str:
    return ", ".join(f"{quote(name)} {dtype}" for name, dtype in types.items())


def normal(column_type: str) -> str:
    """information_schema's COLUMN_TYPE in this module's words: `bigint(20)` -> `bigint`."""
    text = column_type.lower().strip()
    return text if text.startswith("tinyint(1)") else _WIDTH.sub(r"\1", text)


def fits(source: str, destination: str) -> bool:
    """Whether every value of the source type fits the destination type unchanged."""
    if source == destination:
        return True
    if source in _INT_RANGE:
        low, high = _INT_RANGE[source]
        if destination in _INT_RANGE:
            d_low, d_high = _INT_RANGE[destination]
            return d_low <= low and high <= d_high
        held = _DECIMAL.match(destination)
        return held is not None and int(held[1]) - int(held[2]) >= len(str(high))
    given, held = _DECIMAL.match(source), _DECIMAL.match(destination)
    if given and held:
        p, s, dp, ds = (int(x) for x in (*given.groups(), *held.groups()))
        return ds >= s and dp - ds >= p - s
    return (
        (source == "float" and destination == "double")
        or (source in _TEXTS and destination in _TEXTS)
        or (source in _BLOBS and destination in _BLOBS)
    )


def write_csv(frame: pl.DataFrame, path: Path) -> list[str]:
    """The frame as LOAD DATA's CSV at path; returns each column's target in the statement's
    column list (`@vN` for hex-encoded binary, whose SET clause UNHEXes it)."""
    exprs, targets = [], []
    for number, (name, dtype) in enumerate(frame.schema.items()):
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        elif dtype == pl.Boolean:
            column = column.cast(pl.Int8)
        elif dtype == pl.Binary:
            column = column.bin.encode("hex")
        elif isinstance(dtype, pl.Categorical | pl.Enum | pl.Null):
            column = column.cast(pl.String)
        exprs.append(column.alias(name))
        targets.append(f"@v{number}" if dtype == pl.Binary else quote(name))
    frame.select(exprs).write_csv(
        path,
        include_header=False,
        null_value="NULL",
        quote_style="non_numeric",
        datetime_format="%Y-%m-%d %H:%M:%S%.6f",
        time_format="%H:%M:%S%.6f",
        line_terminator="\n",
    )
    return targets


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


def to_batch(rows: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Row tuples as one Arrow batch, built column by column in the schema's types."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays: list[pa.Array[Any]] = []
    for values, field in zip(columns, schema, strict=True):
        if pa.types.is_boolean(field.type):
            arrays.append(pa.array(values, pa.int8()).cast(pa.bool_()))
        elif pa.types.is_timestamp(field.type) and field.type.tz is not None:
            arrays.append(pa.array(values, pa.timestamp("us")).cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
