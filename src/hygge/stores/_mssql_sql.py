"""The SQL the mssql store and home send, as pure functions (testable without a server).

Identifiers are quoted in [brackets] (a `]` inside is doubled) and schema, table and stage
names are first checked to be plain (letters, digits, `_`, plus `#` and `-` in stage names), so no
name can end a bracket early. Values are never part of the text: a statement is SQL with
`%s` slots and the tuple of values the driver fills in.

Polars -> SQL Server column types (`column_type`), and back (`polars_type`):

    Int64 bigint | Int32, UInt16 int (UInt16 widened) | Int16, Int8 smallint (Int8 widened:
    tinyint is unsigned) | UInt8 tinyint | UInt32 bigint | UInt64 decimal(20,0) |
    Boolean bit | Float64 float | Float32 real | Decimal(p,s) decimal(p,s), p <= 38 |
    String, Categorical, Enum, Null nvarchar(max) | Binary varbinary(max) | Date date |
    Time time(7) | Datetime datetime2(7) | Datetime with a zone datetimeoffset(7) (UTC)

Durations, lists, structs and objects have no SQL Server column and stop the load naming the
column. Reading back, datetime2/datetimeoffset arrive in microseconds (what the driver keeps).

Publishing is one transaction (see `publish`). Merge is DELETE of the destination rows whose
key is staged, then INSERT of the stage, not MERGE: MERGE fails when two staged rows share a
key, needs HOLDLOCK to be safe under concurrency and has a long list of known defects, while
DELETE + INSERT behaves like the other SQL stores (NULL keys match NULL keys).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import polars as pl

from hygge.errors import StoreError
from hygge.stores._sql import COMMITS, KEEP_COMMITS, simple_type

Statement = tuple[str, tuple[Any, ...]]
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


def create_table(name: str, types: dict[str, str]) -> str:
    columns = ", ".join(f"{quote(column)} {dtype} NULL" for column, dtype in types.items())
    return f"CREATE TABLE {name} ({columns})"


def ensure_schema(schema: str) -> Statement:
    return (
        f"IF SCHEMA_ID(%s) IS NULL EXEC('CREATE SCHEMA {quote(plain(schema))}')",
        (schema,),
    )


def drop_if_exists(name: str) -> str:
    return f"DROP TABLE IF EXISTS {name}"


def lock(schema: str) -> Statement:
    """The schema's application lock, held until the transaction ends."""
    return (
        "EXEC sp_getapplock @Resource = %s, @LockMode = 'Exclusive', @LockOwner = 'Transaction'",
        (f"hygge:{plain(schema)}",),
    )


def rename(schema: str, stage: str, to: str) -> Statement:
    """sp_rename of the stage to `to` (the new name is given bare, as sp_rename wants)."""
    return "EXEC sp_rename %s, %s", (table(schema, stage), plain(to))


def publish(
    schema: str,
    dest: str,
    stage: str,
    run_type: str,
    staged: dict[str, str],
    held: dict[str, str],
    keys: tuple[str, ...] = (),
) -> list[Statement]:
    """What publishing a stage does, inside the transaction (after `lock`).

    full_drop drops the destination and renames the stage into its place; with nothing
    staged a destination keeps its columns and loses its rows. incremental and merge rename
    the stage into place when there is no destination, else add the new columns (nullable),
    merge deletes the destination rows whose key is staged, the stage is inserted and dropped.
    `held` is the destination's column -> type (empty when it does not exist).
    """
    target, source = table(schema, dest), table(schema, stage)
    if not staged:
        return [(f"DELETE FROM {target}", ())] if run_type == "full_drop" and held else []
    if run_type == "full_drop" or not held:
        return [(drop_if_exists(target), ()), rename(schema, stage, dest)]
    out: list[Statement] = [
        (f"ALTER TABLE {target} ADD {quote(name)} {dtype} NULL", ())
        for name, dtype in staged.items()
        if name not in held
    ]
    if run_type == "merge":
        on = " AND ".join(
            f"(d.{quote(k)} = s.{quote(k)} OR (d.{quote(k)} IS NULL AND s.{quote(k)} IS NULL))"
            for k in keys
        )
        out.append((f"DELETE d FROM {target} AS d INNER JOIN {source} AS s ON {on}", ()))
    names = ", ".join(quote(name) for name in staged)
    out.append((f"INSERT INTO {target} ({names}) SELECT {names} FROM {source}", ()))
    out.append((f"DROP TABLE {source}", ()))
    return out


def record(
    schema: str,
    destination: str,
    run_id: str,
    published_at: datetime,
    watermark: str | None,
    state: bytes | None,
) -> list[Statement]:
    """The commit record, in the publish's transaction; only the newest KEEP_COMMITS are kept.
    The time goes in UTC (pymssql writes a datetime without its zone), the state as a
    bytearray (which pymssql writes as a 0x literal; bytes would become text)."""
    records = table(schema, COMMITS)
    if published_at.tzinfo is not None:
        published_at = published_at.astimezone(UTC).replace(tzinfo=None)
    blob = None if state is None else bytearray(state)
    return [
        (
            f"IF OBJECT_ID(%s, 'U') IS NULL CREATE TABLE {records} (run_id nvarchar(200)"
            " NOT NULL, destination nvarchar(400) NOT NULL, published_at datetimeoffset(7)"
            " NOT NULL, watermark nvarchar(max) NULL, state varbinary(max) NULL)",
            (records,),
        ),
        (
            f"INSERT INTO {records} (run_id, destination, published_at, watermark, state)"
            " VALUES (%s, %s, %s, %s, %s)",
            (run_id, destination, published_at, watermark, blob),
        ),
        (
            f"DELETE FROM {records} WHERE destination = %s AND run_id NOT IN"
            f" (SELECT TOP ({KEEP_COMMITS}) run_id FROM {records} WHERE destination = %s"
            " ORDER BY published_at DESC, run_id DESC)",
            (destination, destination),
        ),
    ]


def last_commit(schema: str, destination: str) -> Statement:
    records = table(schema, COMMITS)
    return (
        f"IF OBJECT_ID(%s, 'U') IS NOT NULL SELECT TOP (1) run_id, published_at, watermark,"
        f" state FROM {records} WHERE destination = %s ORDER BY published_at DESC, run_id DESC",
        (records, destination),
    )
