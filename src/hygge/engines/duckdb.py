"""DuckDB, for the duckdb home and store: connections, errors, dialect and its type rule.

Every connection works in UTC, so TIMESTAMPTZ columns arrive as `Datetime(tz="UTC")` whatever
the machine's zone is. DuckDB lets one process write a file and refuses a READ_ONLY connection
in a process that has the same file open for writing; a file locked by another process, and
a write conflict between two transactions, are transient (the flow retries).

Dialect: the SQL standard's quoting and `?` placeholders. Datetime window bounds are bound as
the Mark's epoch integer and turned into a timestamp in SQL (`make_timestamp_ns(?)`,
`make_timestamp(?)`): `Mark.as_python()` gives a Python datetime, which has microseconds
only, so a nanosecond watermark would be rounded and rows at the boundary lost or read twice.
DuckDB's types are Arrow's, so rows go in and out through Arrow with no map of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb

from hygge.engines.cursor import Cursor
from hygge.engines.dialect import SLOT, Dialect
from hygge.engines.types import rounds_in_float
from hygge.errors import EntityError, RetryableError
from hygge.watermark import Mark


class DuckDbDialect(Dialect):
    def bind(self, mark: Mark) -> tuple[str, Any]:
        if mark.kind != "datetime":
            return super().bind(mark)
        value = int(mark.value)
        if mark.unit == "ns" and mark.tz is None:
            return f"make_timestamp_ns(CAST({SLOT} AS BIGINT))", value
        micros = {"ms": value * 1000, "ns": value // 1000}.get(mark.unit or "us", value)
        timestamp = f"make_timestamp(CAST({SLOT} AS BIGINT))"
        return (f"({timestamp} AT TIME ZONE 'UTC')" if mark.tz else timestamp), micros


DIALECT = DuckDbDialect()


def connect(path: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection to the file, in UTC (a writable one creates the file)."""
    con = duckdb.connect(path, read_only=read_only)
    try:
        con.execute("SET SESSION TimeZone = 'UTC'")
    except BaseException:
        con.close()
        raise
    return con


def mapped(exc: duckdb.Error | OSError, message: str, errors: type[EntityError]) -> EntityError:
    """The one place DuckDB errors become hygge errors: a file another process holds, or a
    write conflict, is transient (retried); anything else fails the entity as `errors`."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = f"{message}: {detail}"
    locked = isinstance(exc, duckdb.IOException) and "lock" in detail.lower()
    if locked or isinstance(exc, duckdb.TransactionException):
        return RetryableError(text, hint="another process holds the database")
    return errors(text)


def fits(cur: Cursor) -> Callable[[str, str], bool]:
    """DuckDB's own rule, the implicit casts, less those into a float that round integers
    or decimals."""

    def check(source: str, destination: str) -> bool:
        if rounds_in_float(source, destination):
            return False
        cast = f"can_cast_implicitly(CAST(NULL AS {source}), CAST(NULL AS {destination}))"
        cur.execute(f"SELECT {cast}")
        row = cur.fetchone()
        return bool(row and row[0])

    return check
