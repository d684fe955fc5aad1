"""SQL Server, for the mssql home and store: its driver, sign-in, dialect, types and identity.

Driver: Microsoft's `mssql-python` (its wheels bundle the ODBC driver; Linux needs the system's
libltdl7). It reads results straight into Arrow (`Cursor.arrow_batch`) and bulk-copies from
Arrow (`Cursor.bulkcopy_arrow`), so rows never become Python objects on either side. URLs look
like `mssql://user:password@host:port/database?authentication=...`; `login` turns one into
the driver's connection string, its timeouts and, for a service principal, the credential
that signs in (azure-identity's `ClientSecretCredential`, given the tenant). Pooling follows
hygge.engines.postgres. Connections are in autocommit mode; a store publishes inside an
explicit BEGIN TRANSACTION ... COMMIT. Driver messages pass through `redact`; a failed login
is final, a lost or refused connection, deadlock or timeout is retried by the flow.

Dialect: identifiers in [brackets] (a `]` inside is doubled); schema, table and stage names
are first checked to be plain (letters, digits, `_`, plus `#` and `-` in stage names), so no
name can end a bracket early. T-SQL has no TRUE: the empty window is `1=1`. Values are bound
`?` parameters, sent apart from the text (the driver's scanner skips `?` inside literals,
brackets and comments, so a query's own text is never taken for one). A zoned Mark is
compared in UTC (a datetimeoffset compares by its instant).

Types, written (`column_type`) and read back (`polars_type`):

    Int64 bigint | Int32, UInt16 int (UInt16 widened) | Int16, Int8 smallint (Int8 widened:
    tinyint is unsigned) | UInt8 tinyint | UInt32 bigint | UInt64 decimal(20,0) |
    Boolean bit | Float64 float | Float32 real | Decimal(p,s) decimal(p,s), p <= 38 |
    String, Categorical, Enum, Null nvarchar(max) | Binary varbinary(max) | Date date |
    Time time(7) | Datetime datetime2(7) | Datetime with a zone datetimeoffset(7) (UTC)

Durations, lists, structs and objects have no SQL Server column and stop the load naming the
column. Reading back, the driver's Arrow batches are brought to these types (`conform`):
timestamps and times in microseconds, a zoned one in UTC, money exact, text and whatever has
no type of its own (uniqueidentifier, xml, sql_variant) as String.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import polars as pl
import pyarrow as pa
from pydantic import model_validator

from hygge.connections import DatabaseConfig, server_target
from hygge.engines._mssql_login import PORT, login
from hygge.engines.cursor import Cursor
from hygge.engines.dialect import SLOT, Dialect
from hygge.engines.driver import BUSY, FINAL, Code, Driver, Verdict
from hygge.engines.types import simple_type
from hygge.errors import StoreError
from hygge.watermark import Mark

Connection = Any  # mssql_python.Connection (the driver is an optional extra)

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


DIALECT = MsSqlDialect()


# Server error numbers: -2 timeout, 233/10053/10054 connection dropped, 1205 deadlock victim,
# 1222 lock timeout, 40197/40501/40613 Azure SQL busy or failing over. The driver's own
# messages for a server it cannot reach carry no number: they are known by their text.
_TRANSIENT = {-2, 233, 1205, 1222, 10053, 10054, 40197, 40501, 40613}
_UNREACHABLE = ("unable to establish connection", "tcp provider", "login timeout expired",
                "communication link failure", "query timeout expired")  # fmt: skip
_LOGIN_FAILED = {18452, 18456}
_NUMBER = re.compile(r"\((-?\d+)\)")


class MsSqlConfig(DatabaseConfig):
    """`connection` (a hygge.yml name; planning fills in its `url`) or an inline `url`, whose
    query holds the sign-in options (see `hygge.engines._mssql_login`)."""

    url_schemes = ("mssql", "sqlserver")

    @model_validator(mode="after")
    def _signs_in(self) -> MsSqlConfig:
        login(self.url or "")  # a ValueError names the option
        return self


def database_target(config: DatabaseConfig) -> str:
    """The database a config reaches, as a destination identity (`Store.target`); SQL
    Server compares names without case (its default collations), so all in lower case."""
    return server_target(config, PORT).split("?")[0].lower()


def execute(cursor: Cursor, sql: str, params: Sequence[Any] = ()) -> None:
    """Run sql with its `?` parameters bound; without params the text runs as is."""
    if params:
        cursor.execute(sql, tuple(params))
    else:
        cursor.execute(sql)


def _open(url: str) -> Connection:
    import mssql_python

    how = login(url)
    connection = mssql_python.connect(
        how.text, autocommit=True, timeout=how.login_timeout, token_provider=how.credential()
    )
    connection.timeout = how.query_timeout
    return connection


def parse(exc: BaseException) -> tuple[Code, str]:
    """An mssql-python error's text and the server's error number in it (`... (18456)`)."""
    text = " ".join(str(arg) for arg in getattr(exc, "args", ())) or str(exc)
    number = _NUMBER.search(text)
    return (int(number[1]) if number else None), text


def _judge(code: Code, detail: str) -> Verdict:
    lowered = detail.lower()
    if code in _LOGIN_FAILED or "login failed" in lowered:
        return Verdict(hint="check the user and password (or authentication) of the connection")
    if "failed to load the driver" in lowered:
        return Verdict(hint="install the system's libltdl7 (apt-get install libltdl7)")
    if code in _TRANSIENT or any(text in lowered for text in _UNREACHABLE):
        return Verdict(retry=True, hint=BUSY)
    return FINAL


DRIVER = Driver("mssql", "mssql_python", _open, _judge, parse=parse)
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


def conform(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch as the driver reads it, in hygge's types: timestamps and times in
    microseconds (a zoned one in UTC), fixed-size binary as Binary. Arrow casts whole
    columns: no value passes through Python."""
    fields = [pa.field(f.name, _wanted(f.type)) for f in batch.schema]
    pairs = zip(batch.columns, fields, strict=True)
    columns = [c if c.type == f.type else c.cast(f.type) for c, f in pairs]
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


def _wanted(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(dtype):
        return pa.timestamp("us", "UTC" if dtype.tz else None)
    if pa.types.is_time(dtype):
        return pa.time64("us")
    if pa.types.is_fixed_size_binary(dtype):
        return pa.large_binary()
    return dtype


_WIDER = {pl.Int8: pl.Int16, pl.UInt16: pl.Int32, pl.UInt32: pl.Int64}


def bulk_arrow(frame: pl.DataFrame) -> pa.Table:
    """frame as the Arrow table a bulk copy sends into columns of `column_type`'s types:
    integers widened as their columns are, UInt64 as decimal(20,0), categoricals, enums
    and all-NULL columns as text, strings as large_string (no string views)."""
    casts: dict[str, pl.DataType] = {}
    for name, dtype in frame.schema.items():
        if dtype.base_type() in _WIDER:
            casts[name] = _WIDER[dtype.base_type()]()  # type: ignore[index]
        elif dtype == pl.UInt64:
            casts[name] = pl.Decimal(20, 0)
        elif isinstance(dtype, pl.Categorical | pl.Enum | pl.Null):
            casts[name] = pl.String()
    ready = frame.cast(casts) if casts else frame  # type: ignore[arg-type]
    return ready.to_arrow(compat_level=pl.CompatLevel.oldest())
