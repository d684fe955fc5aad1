"""A SQLite database file as a home, read with the standard library's sqlite3.

Why sqlite3 and not ADBC's SQLite driver: SQLite has no column types to stream, only values,
and the ADBC driver types each result column by the values of its first batch, so a column
NULL at first or mixing integers and reals changes type from one batch to the next. hygge
needs one type per column for a whole read, known before the first row (`schema()`), which
only the declared types give; sqlite3 needs no extra install. Rows go from `fetchmany`
straight into a Polars frame (built column-wise in Rust) and are parsed with vectorized
expressions; there is no Python loop over rows here (see `hygge.engines.sqlite` for the types).

The declared types of a `query`'s columns are read through a temporary view of it, which
SQLite describes like a table. The window is bound as parameters in the stored format, so
`col >= ?` compares text with text for dates and times. The database is opened read-write
but never written (a read-only open of a WAL database cannot always create its index file),
and never created: a missing file is a problem, not an empty database.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Generator, Iterator
from typing import Any, Literal

import polars as pl
import pyarrow as pa

from hygge.engines.dialect import quote
from hygge.engines.sqlite import (
    DIALECT,
    connect,
    from_stored,
    mapped,
    polars_type,
    type_of_stored,
)
from hygge.errors import SourceError
from hygge.homes._sql import FileDatabaseConfig, FileDatabaseHome
from hygge.plugin import Home, Window
from hygge.watermark import Mark


class SqliteHomeConfig(FileDatabaseConfig):
    type: Literal["sqlite"] = "sqlite"


class SqliteHome(FileDatabaseHome[SqliteHomeConfig]):
    Config = SqliteHomeConfig
    dialect = DIALECT

    def batches(self, window: Window, batch_rows: int) -> Generator[pl.DataFrame]:
        """Every batch has the schema the declared types give, decided once per read."""
        self._require_window(window.column)
        predicate, params = self.predicate(window)
        sql = self.relation(predicate)
        self.dialect.log(self.describe(), sql, params)
        with self._connection() as con:
            schema = self._schema(con)
            cursor = self._run(con, sql, params)
            while rows := self._fetch_rows(cursor, batch_rows):
                yield self.shaper.cast(self._frame(rows, schema))

    # Types come from the declared schema, not from a result's values: ask both in turn.
    column_bounds = Home.column_bounds

    def schema(self) -> pl.Schema:
        with self._connection() as con:
            return self.shaper.cast_schema(self._schema(con))

    def high_mark(self, column: str) -> Mark | None:
        self._require_window(column)
        with self._connection() as con:
            dtype = self._schema(con).get(column)
            if dtype is None:
                raise SourceError(f"{self.describe()} has no column {column!r}")
            name, source = self.dialect.quote(column), self.relation(self.dialect.everything)
            sql = f"SELECT max({name}) FROM ({source}) AS hygge_source"
            rows = self._run(con, sql, []).fetchall()
        return Mark.max_of(self._frame(rows, pl.Schema({column: dtype})).to_series())

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Unused: batches() reads rows, as sqlite3 gives no Arrow (see the module doc)."""
        raise NotImplementedError

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        """Unused, like stream()."""
        raise NotImplementedError

    def _schema(self, con: sqlite3.Connection) -> pl.Schema:
        """Declared types through a temporary view; undeclared columns by their first value."""
        self._run(
            con, f"CREATE TEMP VIEW hygge_source AS {self.relation(self.dialect.everything)}", []
        )
        columns = self._run(con, "PRAGMA temp.table_info(hygge_source)", []).fetchall()
        schema = {}
        for _, name, declared, *_ in columns:
            dtype = polars_type(declared or "")
            if dtype is None:
                sql = (
                    f"SELECT typeof({quote(name)}) FROM hygge_source"
                    f" WHERE {quote(name)} IS NOT NULL LIMIT 1"
                )
                found = self._run(con, sql, []).fetchone()
                dtype = type_of_stored(found[0] if found else None)
            schema[name] = dtype
        self._run(con, "DROP VIEW hygge_source", [])
        return pl.Schema(schema)

    def _frame(self, rows: list[tuple[Any, ...]], schema: pl.Schema) -> pl.DataFrame:
        try:
            return from_stored(rows, schema)
        except (pl.exceptions.PolarsError, OverflowError) as exc:
            detail = str(exc).strip().splitlines()[0]
            raise SourceError(
                f"cannot read {self.describe()}: a value does not fit its column's declared"
                f" type ({detail})",
                hint="cast the column in a query, or fix the stored values",
            ) from exc

    def _run(self, con: sqlite3.Connection, sql: str, params: list[Any]) -> sqlite3.Cursor:
        text, values = self.dialect.finish(sql, params)
        try:
            return con.execute(text, values or ())
        except sqlite3.Error as exc:
            raise mapped(exc, f"cannot read {self.describe()}", SourceError) from exc

    def _fetch_rows(self, cursor: sqlite3.Cursor, size: int) -> list[tuple[Any, ...]]:
        try:
            return cursor.fetchmany(size)
        except sqlite3.Error as exc:
            raise mapped(exc, f"cannot read {self.describe()}", SourceError) from exc

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self.require_file()
        try:
            con = connect(self.path, create=False)
        except sqlite3.Error as exc:
            raise mapped(exc, f"cannot read {self.describe()}", SourceError) from exc
        try:
            yield con
        finally:
            con.close()
