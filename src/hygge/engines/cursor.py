"""The DB-API cursor as hygge's SQL code uses it, whichever driver made it.

sqlite3's and mssql-python's cursors, a DuckDB connection, PyMySQL's cursors and ADBC's cursor all
fit (tests/test_cursor.py holds each driver's class to it), so the SQL stores and their shared
code (`hygge.stores._sql`, `_sql_load`, `_one_per_key`) are typed once for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    """execute, then fetch: the part of PEP 249 that these drivers answer alike.

    Values are bound in the driver's terms, so `params` and `rows` are typed as loosely as
    the drivers differ: a list per statement for most, an Arrow batch for ADBC, a tuple for
    mssql-python (`hygge.engines.mssql.execute`). What
    `execute` returns differs too (the cursor, a row count, None), so hygge relies on none
    of it."""

    def execute(self, sql: str, params: Any = ..., /) -> object: ...

    def executemany(self, sql: str, rows: Any, /) -> object: ...

    def fetchone(self) -> Sequence[Any] | None: ...

    def fetchmany(self, size: int, /) -> Sequence[Sequence[Any]]: ...

    def fetchall(self) -> Sequence[Sequence[Any]]: ...

    def close(self) -> None: ...
