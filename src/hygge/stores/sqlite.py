"""A table in a SQLite database file as a store: staged in a table, published in one transaction.

Written with the standard library's sqlite3 (see `hygge.homes.sqlite` for why not ADBC). Each
frame is turned into stored values by vectorized Polars expressions (`hygge.homes._sqlite`
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
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import Field, field_validator

from hygge.errors import EntityError, StoreError
from hygge.failpoints import failpoint
from hygge.homes._sql import quote
from hygge.homes._sqlite import connect, definitions, fits, mapped, to_stored
from hygge.plugin import Commit, Context, Load, LoadRun
from hygge.stores._sql import (
    COMMITS,
    KEEP_COMMITS,
    SqlStore,
    SqlStoreConfig,
    file_database_preflight,
    new_columns,
    new_file_database_problems,
)


class SqliteStoreConfig(SqlStoreConfig):
    type: Literal["sqlite"] = "sqlite"
    path: str
    schema_name: str = Field("main", alias="schema")

    @field_validator("schema_name")
    @classmethod
    def _main_only(cls, value: str) -> str:
        if value != "main":
            raise ValueError("a SQLite file has one schema, 'main'; choose the file with 'path'")
        return value


class SqliteStore(SqlStore):
    Config = SqliteStoreConfig
    config: SqliteStoreConfig

    def __init__(self, config: SqliteStoreConfig, context: Context) -> None:
        super().__init__(config, context)
        self.path = context.resolve(config.path)
        self.table = quote(config.table)

    def destination(self) -> str:
        return f"sqlite://{self.path}#{self.config.table}"

    def preflight(self) -> list[str]:
        return file_database_preflight(self.path)

    def check(self) -> list[str]:
        """Create a table inside a transaction that is rolled back."""
        problems = self.preflight()
        if problems:
            return problems
        if not Path(self.path).exists():
            return new_file_database_problems(self.path)
        try:
            with self.connection() as con:
                con.execute("BEGIN IMMEDIATE")
                con.execute(f"CREATE TABLE {quote(self.stage_name('check'))} (x INTEGER)")
                con.execute("ROLLBACK")
        except EntityError as exc:
            return [exc.message]
        return []

    def begin(self, run: LoadRun) -> Load:
        self.refuse_undeclared(run.run_type)
        return SqliteLoad(self, run)

    def recover(self) -> None:
        """Drop the staging tables that crashed loads of this destination left."""
        if not Path(self.path).is_file():
            return
        with self.connection() as con:
            for name in tables(con):
                if self.is_own_stage(name):
                    con.execute(f"DROP TABLE IF EXISTS {quote(name)}")

    def last_commit(self) -> Commit | None:
        if not Path(self.path).is_file():
            return None
        with self.connection() as con:
            if COMMITS not in tables(con):
                return None
            row = con.execute(
                f"SELECT run_id, published_at, watermark, state FROM {quote(COMMITS)}"
                " WHERE destination = ? ORDER BY published_at DESC, run_id DESC LIMIT 1",
                [self.qualified],
            ).fetchone()
        if row is None:
            return None
        return Commit(row[0], datetime.fromisoformat(row[1]), row[2], row[3])

    def open(self) -> sqlite3.Connection:
        with self.errors():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            return connect(self.path, create=True)

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection; errors inside leave as hygge errors."""
        con = self.open()
        try:
            with self.errors():
                yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError, OverflowError) as exc:
            if isinstance(exc, OverflowError):  # a UInt64 above SQLite's integer range
                raise StoreError(f"cannot write {self.destination()}: {exc}") from exc
            raise mapped(exc, f"cannot write {self.destination()}", StoreError) from exc


def tables(con: sqlite3.Connection) -> list[str]:
    rows = con.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
    return [row[0] for row in rows]


def columns(con: sqlite3.Connection, table: str) -> dict[str, str]:
    """Column name -> declared type of a table; empty when the table does not exist."""
    rows = con.execute("SELECT name, type FROM pragma_table_info(?)", [table]).fetchall()
    return {row[0]: row[1] for row in rows}


class SqliteLoad(Load):
    """One run's rows in a staging table of its own, published in one transaction."""

    def __init__(self, store: SqliteStore, run: LoadRun) -> None:
        self.store = store
        self.run = run
        self.stage_name = store.stage_name(run.run_id)
        self.stage = quote(self.stage_name)
        self.staged = False
        self.con: sqlite3.Connection | None = store.open()
        try:
            with store.errors():
                self.con.execute(f"DROP TABLE IF EXISTS {self.stage}")
        except BaseException:
            self._close()
            raise

    def write(self, frame: pl.DataFrame) -> None:
        """The first frame's columns make the stage; each frame is one transaction."""
        con = self._connection()
        if not frame.width:
            return
        names = ", ".join(quote(name) for name in frame.columns)
        insert = f"INSERT INTO {self.stage} ({names}) VALUES ({', '.join('?' * frame.width)})"
        with self.store.errors(), self._transaction(con):
            if not self.staged:
                con.execute(f"CREATE TABLE {self.stage} ({definitions(frame.schema)})")
            if frame.height:
                con.executemany(insert, to_stored(frame).iter_rows())
        self.staged = True

    def publish(self, commit: Commit | None = None) -> None:
        commit = commit or Commit(self.run.run_id, datetime.now(UTC))
        con = self._connection()
        with self.store.errors(), self._transaction(con):
            if self.run.run_type == "full_drop":
                self._replace(con)
            else:
                self._append(con)
            self._record(con, commit)
            failpoint("sql_before_commit")
        self._close()

    def abort(self) -> None:
        if self.con is None:
            return
        try:
            with self.store.errors():
                self.con.execute(f"DROP TABLE IF EXISTS {self.stage}")
        finally:
            self._close()

    def _replace(self, con: sqlite3.Connection) -> None:
        """full_drop: the stage takes the destination's place; with no columns staged, the
        destination keeps its columns and loses its rows (a missing one stays missing)."""
        table = self.store.table
        if self.staged:
            con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute(f"ALTER TABLE {self.stage} RENAME TO {table}")
        elif columns(con, self.store.config.table):
            con.execute(f"DELETE FROM {table}")

    def _append(self, con: sqlite3.Connection) -> None:
        """incremental and merge: new columns first, then (merge) the old rows out, the new in."""
        if not self.staged:
            return
        store = self.store
        staged = columns(con, self.stage_name)
        keys = self.run.primary_key
        missing = [key for key in keys if key not in staged]
        if self.run.run_type == "merge" and missing:
            raise StoreError(f"primary key column(s) {missing} are not in the rows to merge")
        held = columns(con, store.config.table)
        if not held:
            con.execute(f"ALTER TABLE {self.stage} RENAME TO {store.table}")
            return
        for name, declared in new_columns(held, staged, fits, store.qualified):
            con.execute(f"ALTER TABLE {store.table} ADD COLUMN {quote(name)} {declared}")
        if self.run.run_type == "merge":
            index = quote(f"{self.stage_name}#keys")
            con.execute(f"CREATE INDEX {index} ON {self.stage} ({', '.join(map(quote, keys))})")
            match = " AND ".join(f"s.{quote(k)} IS {store.table}.{quote(k)}" for k in keys)
            con.execute(
                f"DELETE FROM {store.table} WHERE EXISTS"
                f" (SELECT 1 FROM {self.stage} AS s WHERE {match})"
            )
        names = ", ".join(quote(name) for name in staged)
        con.execute(f"INSERT INTO {store.table} ({names}) SELECT {names} FROM {self.stage}")
        con.execute(f"DROP TABLE {self.stage}")

    def _record(self, con: sqlite3.Connection, commit: Commit) -> None:
        """The commit record, in the publish's transaction; only the newest few are kept.
        published_at is fixed-width UTC text, so text order is time order."""
        records, where = quote(COMMITS), self.store.qualified
        published = commit.published_at.astimezone(UTC).isoformat(" ", "microseconds")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {records} (run_id TEXT NOT NULL,"
            " destination TEXT NOT NULL, published_at TEXT NOT NULL, watermark TEXT, state BLOB)"
        )
        con.execute(
            f"INSERT INTO {records} VALUES (?, ?, ?, ?, ?)",
            [commit.run_id, where, published, commit.watermark, commit.state],
        )
        con.execute(
            f"DELETE FROM {records} WHERE destination = ? AND run_id NOT IN (SELECT run_id"
            f" FROM {records} WHERE destination = ? ORDER BY published_at DESC, run_id DESC"
            f" LIMIT {KEEP_COMMITS})",
            [where, where],
        )

    @contextlib.contextmanager
    def _transaction(self, con: sqlite3.Connection) -> Iterator[None]:
        """BEGIN IMMEDIATE takes the write lock first (waiting for another writer), so the
        transaction cannot fail later for want of it; anything raised inside rolls back."""
        con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        if self.con is None:
            raise StoreError(f"the load of run {self.run.run_id} is already finished")
        return self.con

    def _close(self) -> None:
        con, self.con = self.con, None
        if con is not None:
            con.close()
