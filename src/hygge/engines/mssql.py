"""SQL Server, for the mssql home and store: its driver, dialect, types and identity.

Driver: pymssql. It is maintained, its wheels bundle FreeTDS (and the TLS and Kerberos
libraries it needs), so `pip install` is all a machine needs, and it has a bulk-copy path
(`Connection.bulk_copy`, the TDS BCP protocol) for loading stages. Microsoft's `mssql-python`
also ships wheels, but pulls in a bundled ODBC driver, a Rust core and azure-identity. URLs
look like `mssql://user:password@host:port/database`. Pooling follows hygge.engines.postgres.
Connections are in autocommit mode; a store publishes inside an explicit BEGIN TRANSACTION
... COMMIT. Driver messages pass through `redact`; a failed login is final, a lost or refused
connection, deadlock or timeout is retried by the flow.

Dialect: identifiers in [brackets] (a `]` inside is doubled); schema, table and stage names
are first checked to be plain (letters, digits, `_`, plus `#` and `-` in stage names), so no
name can end a bracket early. T-SQL has no TRUE: the empty window is `1=1`. pymssql has no
server-side parameters: its `execute` quotes `%s` values into the text itself and would also
fill in any `%s` a user's query holds (`LIKE '%done%'`). So a home's values are quoted by the
driver's own function (`quote_simple_value`) into the text, which then runs without params;
a store's statements are SQL with `%s` slots and the tuple of values pymssql fills in. A
zoned Mark is compared in UTC (a datetimeoffset compares by its instant).

Types, written (`column_type`) and read back (`polars_type`):

    Int64 bigint | Int32, UInt16 int (UInt16 widened) | Int16, Int8 smallint (Int8 widened:
    tinyint is unsigned) | UInt8 tinyint | UInt32 bigint | UInt64 decimal(20,0) |
    Boolean bit | Float64 float | Float32 real | Decimal(p,s) decimal(p,s), p <= 38 |
    String, Categorical, Enum, Null nvarchar(max) | Binary varbinary(max) | Date date |
    Time time(7) | Datetime datetime2(7) | Datetime with a zone datetimeoffset(7) (UTC)

Durations, lists, structs and objects have no SQL Server column and stop the load naming the
column. Reading back, datetime2/datetimeoffset arrive in microseconds (what the driver keeps);
money is exact, binary types are Binary, text and everything else String. A home's column
types come from the server (`sys.dm_exec_describe_first_result_set`), not from values, so an
empty or all-NULL batch keeps its types.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC
from typing import Any
from urllib.parse import unquote, urlsplit

import polars as pl
import pyarrow as pa

from hygge.connections import DatabaseConfig, server_target
from hygge.engines.cursor import Cursor
from hygge.engines.dialect import SLOT, Dialect
from hygge.engines.driver import BUSY, FINAL, Code, Driver, Verdict
from hygge.engines.types import simple_type
from hygge.errors import SourceError, StoreError
from hygge.watermark import Mark

Connection = Any  # pymssql.Connection (the driver is an optional extra)

PORT = 1433
DEFAULT_SCHEMA = "dbo"  # where an unqualified table lives
NAME_LIMIT = 128  # the longest name SQL Server keeps, in characters
_NAME = re.compile(r"^[A-Za-z0-9_#-]+$")
_SIMPLE: dict[type[pl.DataType], str] = {
    pl.Int64: "bigint", pl.Int32: "int", pl.UInt16: "int", pl.Int16: "smallint",
    pl.Int8: "smallint", pl.UInt8: "tinyint", pl.UInt32: "bigint", pl.UInt64: "decimal(20,0)",
    pl.Boolean: "bit", pl.Float64: "float", pl.Float32: "real", pl.String: "nvarchar(max)",
    pl.Categorical: "nvarchar(max)", pl.Enum: "nvarchar(max)", pl.Null: "nvarchar(max)",
    pl.Binary: "varbinary(max)", pl.Date: "date", pl.Time: "time(7)",
}  # fmt: skip
_BACK: dict[str, pl.DataType] = {
    "bigint": pl.Int64(), "int": pl.Int32(), "smallint": pl.Int16(), "tinyint": pl.UInt8(),
    "bit": pl.Boolean(), "float": pl.Float64(), "real": pl.Float32(), "date": pl.Date(),
    "time": pl.Time(), "datetime2": pl.Datetime("us"), "datetime": pl.Datetime("us"),
    "smalldatetime": pl.Datetime("us"), "datetimeoffset": pl.Datetime("us", "UTC"),
    "money": pl.Decimal(19, 4), "smallmoney": pl.Decimal(10, 4),
    "varbinary": pl.Binary(), "binary": pl.Binary(), "image": pl.Binary(),
    "timestamp": pl.Binary(), "rowversion": pl.Binary(),
}  # fmt: skip
_DECIMAL = re.compile(r"^(?:decimal|numeric)\((\d+),\s*(\d+)\)$")
_INTS = ["tinyint", "smallint", "int", "bigint"]


def quote(identifier: str) -> str:
    """An identifier in [brackets], a `]` inside doubled."""
    return "[" + identifier.replace("]", "]]") + "]"


def plain(name: str) -> str:
    """name, checked to be letters, digits, _, # and - (what schema, table and stage names use)."""
    if not _NAME.match(name) or len(name) > 128:
        raise StoreError(f"{name!r} is not a plain SQL Server name: use letters, digits and _")
    return name


def table(schema: str, name: str) -> str:
    """`[schema].[name]`, both checked to be plain."""
    return f"{quote(plain(schema))}.{quote(plain(name))}"


class MsSqlDialect(Dialect):
    everything = "1=1"

    def quote(self, identifier: str) -> str:
        return quote(identifier)

    def bind(self, mark: Mark) -> tuple[str, Any]:
        value = mark.as_python()
        if getattr(value, "tzinfo", None) is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return SLOT, value

    def finish(self, sql: str, params: Sequence[Any]) -> tuple[str, list[Any] | None]:
        """sql with each slot replaced by its value as pymssql quotes it; no params left."""
        from pymssql import _mssql

        parts = sql.split(SLOT)
        if len(parts) != len(params) + 1:
            raise SourceError(f"the query has {len(parts) - 1} parameter slots for {len(params)}")
        out = [parts[0]]
        for value, part in zip(params, parts[1:], strict=True):
            out += [_mssql.quote_simple_value(value, use_datetime2=True).decode(), part]
        return "".join(out), None


DIALECT = MsSqlDialect()


# -2 timeout, 233/10053/10054 connection dropped, 1205 deadlock victim, 1222 lock timeout,
# 40197/40501/40613 Azure SQL busy or failing over, 20002-20047 FreeTDS cannot reach the server.
_TRANSIENT = {-2, 233, 1205, 1222, 10053, 10054, 40197, 40501, 40613}
_LOGIN_FAILED = {18452, 18456}


class MsSqlConfig(DatabaseConfig):
    """`connection` (a hygge.yml name; planning fills in its `url`) or an inline `url`."""

    url_schemes = ("mssql", "sqlserver")


def database_target(config: DatabaseConfig) -> str:
    """The database a config reaches, as a destination identity (`Store.target`); SQL
    Server compares names without case (its default collations), so all in lower case."""
    return server_target(config, PORT).lower()


def execute(cursor: Cursor, sql: str, params: Sequence[Any] = ()) -> None:
    """Run sql with its `%s` slots filled in by pymssql; without params the text runs as is."""
    if params:
        cursor.execute(sql, tuple(params))
    else:
        cursor.execute(sql)


def _open(url: str) -> Connection:
    import pymssql

    parts = urlsplit(url)
    return pymssql.connect(
        server=parts.hostname or "localhost",
        port=str(parts.port or 1433),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")),
        autocommit=True,
        login_timeout=10,
        use_datetime2=True,
        tds_version="7.4",
    )


def _judge(code: Code, detail: str) -> Verdict:
    if code in _LOGIN_FAILED or "login failed" in detail.lower():
        return Verdict(hint="check the user and password of the connection")
    if code in _TRANSIENT or (isinstance(code, int) and 20002 <= code <= 20047):
        return Verdict(retry=True, hint=BUSY)
    return FINAL


DRIVER = Driver("mssql", "pymssql", _open, _judge)
connect = DRIVER.connect
mapped = DRIVER.mapped


def column_type(name: str, dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        if dtype.precision is None or dtype.precision > 38:
            raise StoreError(f"column {name!r} is {dtype}: SQL Server decimals hold 38 digits")
        return f"decimal({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "datetimeoffset(7)" if dtype.time_zone else "datetime2(7)"
    return simple_type(name, dtype, _SIMPLE, "SQL Server")


def polars_type(sql_type: str) -> pl.DataType:
    """The Polars type a column of sql_type (as `sys.dm_exec_describe_first_result_set` or
    `type_text` names it) is read as; text and types without their own are String."""
    text = sql_type.strip().lower()
    if match := _DECIMAL.match(text):
        return pl.Decimal(int(match[1]), int(match[2]))
    return _BACK.get(text.split("(")[0], pl.String())


def type_text(name: str, max_length: int, precision: int, scale: int) -> str:
    """A column's type as `column_type` writes it, from sys.columns (max_length -1 is max)."""
    if name in ("decimal", "numeric"):
        return f"decimal({precision},{scale})"
    if name in ("time", "datetime2", "datetimeoffset"):
        return f"{name}({scale})"
    if name in ("varchar", "nvarchar", "varbinary", "char", "nchar", "binary"):
        size = "max" if max_length == -1 else max_length // (2 if name[0] == "n" else 1)
        return f"{name}({size})"
    return name


def fits(source: str, destination: str) -> bool:
    """Whether a destination column of type destination holds every value of source."""
    if source == destination or destination == "nvarchar(max)":
        return True
    if source in _INTS and destination in _INTS:
        return _INTS.index(source) <= _INTS.index(destination)
    a, b = _DECIMAL.match(source), _DECIMAL.match(destination)
    if a and b:
        (p1, s1), (p2, s2) = (map(int, m.groups()) for m in (a, b))
        return s1 <= s2 and p1 - s1 <= p2 - s2
    return (source, destination) in {("real", "float"), ("varbinary(max)", "varbinary(max)")}


def arrow_schema(columns: list[tuple[str, str]]) -> pa.Schema:
    """(name, SQL Server type) pairs as an Arrow schema, through the Polars type mapping."""
    frame = pl.DataFrame(schema={name: polars_type(kind) for name, kind in columns})
    return frame.to_arrow().schema


def to_batch(rows: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.RecordBatch:
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
