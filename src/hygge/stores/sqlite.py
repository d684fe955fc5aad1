"""A table in a SQLite database file as a store: staged in a table, published in one transaction.

Written with the standard library's sqlite3 (see `hygge.homes.sqlite` for why not ADBC). Each
frame is turned into stored values by vectorized Polars expressions (`hygge.engines.sqlite`
has the type mapping) and appended to the load's staging table by one prepared INSERT run
with `executemany` inside one transaction per frame: Python only hands the row tuples over.

SQLite has one writer per file at a time. Every write transaction starts with BEGIN IMMEDIATE,
so a second writer waits (busy timeout) for the lock up front instead of failing half-way
through; loads of several entities on one file, in the coordinator's threads or in other
processes, take turns frame by frame. The file is in WAL mode, so readers keep reading the
last committed state while a load writes or publishes.

Publishing is one transaction, with the commit record in `_hygge_commits`: full_drop drops
the destination and renames the staging table into its place (SQLite's DDL is transactional,
so a reader sees the old table or the new one); incremental inserts the staged rows; merge
first deletes the destination rows whose key is staged (`IS`, so NULL keys match), which needs
no unique index on the destination. New source columns are added as nullable.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import Field, field_validator

from hygge.engines.cursor import Cursor
from hygge.engines.dialect import quote
from hygge.engines.sqlite import connect, declared_type, definitions, fits, mapped, to_stored
from hygge.errors import StoreError
from hygge.plugin import Commit, Load, LoadRun
from hygge.stores._sql import FileDatabaseStore, FileDatabaseStoreConfig, transaction
from hygge.stores._sql_load import FileDatabaseLoad


class SqliteStoreConfig(FileDatabaseStoreConfig):
    type: Literal["sqlite"] = "sqlite"
    schema_name: str = Field("main", alias="schema")

    @field_validator("schema_name")
    @classmethod
    def _main_only(cls, value: str) -> str:
        if value != "main":
            raise ValueError("a SQLite file has one schema, 'main'; choose the file with 'path'")
        return value


class SqliteStore(FileDatabaseStore[SqliteStoreConfig]):
    Config = SqliteStoreConfig
    begin_sql = "BEGIN IMMEDIATE"
    commit_columns = (
        "run_id TEXT NOT NULL, destination TEXT NOT NULL, published_at TEXT NOT NULL,"
        " watermark TEXT, state BLOB"
    )

    def name(self, table: str) -> str:
        return quote(table)

    def destination(self) -> str:
        return f"sqlite://{self.path}#{self.config.table}"

    def start(self, run: LoadRun) -> Load:
        return SqliteLoad(self, run)

    def record_values(self, commit: Commit) -> tuple[str, Any]:
        """published_at as fixed-width UTC text, so text order is time order."""
        slots, params = super().record_values(commit)
        params[2] = commit.published_at.astimezone(UTC).isoformat(" ", "microseconds")
        return slots, params

    def tables(self, cur: Cursor) -> list[str]:
        cur.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        return [row[0] for row in cur.fetchall()]

    def columns(self, cur: Cursor, table: str) -> dict[str, str]:
        """Column name -> declared type."""
        cur.execute("SELECT name, type FROM pragma_table_info(?)", [table])
        return {row[0]: row[1] for row in cur.fetchall()}

    def stage_types(self, cur: Cursor, incoming: pl.Schema) -> dict[str, str]:
        declared = {name: declared_type(dtype) for name, dtype in incoming.items()}
        return {name: dtype for name, dtype in declared.items() if dtype is not None}

    def fits(self, cur: Cursor) -> Callable[[str, str], bool]:
        return fits

    def open(self) -> sqlite3.Connection:
        with self.errors():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            return connect(self.path, create=True)

    def cursor_of(self, connection: sqlite3.Connection) -> sqlite3.Cursor:
        return connection.cursor()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError, OverflowError) as exc:
            if isinstance(exc, OverflowError):  # a UInt64 above SQLite's integer range
                raise StoreError(f"cannot write {self.destination()}: {exc}") from exc
            raise mapped(exc, f"cannot write {self.destination()}", StoreError) from exc


class SqliteLoad(FileDatabaseLoad):
    store: SqliteStore

    def write(self, frame: pl.DataFrame) -> None:
        """The first frame's columns make the stage; each frame is one transaction."""
        self.require_open()
        if not frame.width:
            return
        names = ", ".join(quote(name) for name in frame.columns)
        insert = f"INSERT INTO {self.stage} ({names}) VALUES ({', '.join('?' * frame.width)})"
        with self.immediate() as cur:
            if not self.staged:
                cur.execute(f"CREATE TABLE {self.stage} ({definitions(frame.schema)})")
            if frame.height:
                cur.executemany(insert, to_stored(frame).iter_rows())
        self.staged = True

    def publishing(self) -> contextlib.AbstractContextManager[Cursor]:
        return self.immediate()

    @contextlib.contextmanager
    def immediate(self) -> Iterator[Cursor]:
        """A write transaction: BEGIN IMMEDIATE takes the write lock first (waiting for
        another writer), so the transaction cannot fail later for want of it."""
        with self.cursor() as cur, transaction(cur, "BEGIN IMMEDIATE"):
            yield cur

    def delete_matching(self, cur: Cursor) -> None:
        """SQLite has no DELETE ... USING: an index on the staged keys makes EXISTS quick,
        and `IS` matches NULL keys."""
        keys, table = self.run.primary_key, self.store.table
        index = quote(f"{self.stage_name}#keys")
        cur.execute(f"CREATE INDEX {index} ON {self.stage} ({', '.join(map(quote, keys))})")
        match = " AND ".join(f"s.{quote(k)} IS {table}.{quote(k)}" for k in keys)
        cur.execute(
            f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {self.stage} AS s WHERE {match})"
        )
