"""Polars types -> PostgreSQL column types, and PostgreSQL's rule for which type holds which.

The stage is created with these types before the first COPY, and they match what ADBC's
binary COPY sends for each Arrow type, so every value arrives as it left. Types without a
lossless PostgreSQL column (nested lists and structs, objects) stop the load naming the
column. Unsigned 64-bit integers go as numeric(20,0): no signed integer holds them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import polars as pl

from hygge.homes._sql import quote
from hygge.stores._sql import simple_type

_SIMPLE: dict[type[pl.DataType], str] = {
    pl.Int8: "smallint",
    pl.Int16: "smallint",
    pl.UInt8: "smallint",
    pl.Int32: "integer",
    pl.UInt16: "integer",
    pl.Int64: "bigint",
    pl.UInt32: "bigint",
    pl.UInt64: "numeric(20,0)",
    pl.Float32: "real",
    pl.Float64: "double precision",
    pl.String: "text",
    pl.Categorical: "text",
    pl.Enum: "text",
    pl.Null: "text",
    pl.Boolean: "boolean",
    pl.Date: "date",
    pl.Time: "time",
    pl.Binary: "bytea",
    pl.Duration: "interval",
}
_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)$")


def column_type(name: str, dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"numeric({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "timestamp with time zone" if dtype.time_zone else "timestamp without time zone"
    return simple_type(name, dtype, _SIMPLE, "PostgreSQL")


def table_ddl(types: dict[str, str]) -> str:
    return ", ".join(f"{quote(name)} {dtype}" for name, dtype in types.items())


def fits(cur: Any) -> Callable[[str, str], bool]:
    """PostgreSQL's own rule: the same type, or an implicit cast from source to destination;
    two numerics with precision also need room for the source's digits on both sides."""

    def check(source: str, destination: str) -> bool:
        a, b = _NUMERIC.match(source), _NUMERIC.match(destination)
        if a and b:
            (p1, s1), (p2, s2) = (map(int, m.groups()) for m in (a, b))
            return s1 <= s2 and p1 - s1 <= p2 - s2
        cur.execute(
            "SELECT s = d OR EXISTS (SELECT 1 FROM pg_cast WHERE castsource = s"
            " AND casttarget = d AND castcontext = 'i')"
            " FROM (SELECT $1::text::regtype::oid AS s, $2::text::regtype::oid AS d) AS t",
            [source, destination],
        )
        row = cur.fetchone()
        return bool(row and row[0])

    return check
