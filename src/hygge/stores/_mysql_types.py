"""Polars types -> MariaDB/MySQL column types, the rule for which holds which, and the CSV
that LOAD DATA reads.

The mapping (chosen so the mysql home reads every column back as the type it left as):
Int8..Int64 -> tinyint..bigint, UInt8..UInt64 -> the same `unsigned`, Float32 -> float,
Float64 -> double, Decimal(p,s) -> decimal(p,s), String/Categorical/Enum/Null -> longtext
(utf8mb4, binary collation so keys compare exactly), Boolean -> tinyint(1) (MySQL's BOOLEAN),
Date -> date, Datetime -> datetime(6) (a zoned one converted to UTC: MySQL keeps no zone),
Time -> time(6), Duration -> time(6) is not offered (TIME cannot hold every duration),
Binary -> longblob. Nested types stop the load naming the column.

The CSV is written by Polars with every non-numeric value quoted and NULL as an unquoted
`NULL` (LOAD DATA's reading with `ESCAPED BY ''`), so a string "NULL" stays a string and
backslashes stay literal. Binary goes as hex and is UNHEXed by the LOAD DATA statement.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from hygge.errors import StoreError
from hygge.mysql import quote
from hygge.stores._sql import simple_type

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
