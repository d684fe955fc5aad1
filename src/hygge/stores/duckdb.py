"""A table in a DuckDB database file as a store: staged in a table, published in one transaction.

DuckDB lets one process write a file, and in a process every `duckdb.connect(path)` with the
same settings shares one database instance. So each load opens its own connection in begin()
and closes it at publish/abort (the file is free once the last load on it ends), and loads of
several entities on one file run side by side in the coordinator's threads, each filling its
own staging table. Catalog changes and publish transactions (which share `_hygge_commits`) are
serialized per file by a process-wide lock, so publishes never meet in DuckDB's optimistic
conflict detection. full_drop drops the destination and renames the staging table into its
place in one transaction (DuckDB's catalog is transactional: readers see the old table or the
new, never none). merge deletes the destination rows whose key is staged, then inserts the
stage (not INSERT ... ON CONFLICT: that needs a key declared on the destination, which tables
made by a full_drop or by hand lack); keys must be unique within one load.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl
from pydantic import Field

from hygge.errors import EntityError, RetryableError, StoreError
from hygge.failpoints import failpoint
from hygge.homes._sql import quote
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

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _file_lock(path: str) -> threading.Lock:
    """The lock serializing catalog changes and publishes on one database file."""
    with _locks_guard:
        return _locks.setdefault(os.path.realpath(path), threading.Lock())


class DuckDbStoreConfig(SqlStoreConfig):
    type: Literal["duckdb"] = "duckdb"
    path: str
    schema_name: str = Field("main", alias="schema")


class DuckDbStore(SqlStore):
    Config = DuckDbStoreConfig
    config: DuckDbStoreConfig

    def __init__(self, config: DuckDbStoreConfig, context: Context) -> None:
        super().__init__(config, context)
        self.path = context.resolve(config.path)
        self.lock = _file_lock(self.path)
        self.schema = quote(config.schema_name)
        self.table = self.name(config.table)

    def name(self, table: str) -> str:
        """A table of this store's schema, quoted."""
        return f"{self.schema}.{quote(table)}"

    def destination(self) -> str:
        return f"duckdb://{self.path}#{self.qualified}"

    def preflight(self) -> list[str]:
        return file_database_preflight(self.path)

    def check(self) -> list[str]:
        """Create and drop a table in the schema, inside a transaction that is rolled back."""
        if not Path(self.path).exists():
            return new_file_database_problems(self.path)
        try:
            with self.connection() as con:
                con.execute("BEGIN TRANSACTION")
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                con.execute(f"CREATE TABLE {self.name(self.stage_name('check'))} (x INTEGER)")
                con.execute("ROLLBACK")
        except EntityError as exc:
            return [exc.message]
        return []

    def begin(self, run: LoadRun) -> Load:
        self.refuse_undeclared(run.run_type)
        return DuckDbLoad(self, run)

    def recover(self) -> None:
        """Drop the staging tables that crashed loads of this destination left."""
        if not Path(self.path).is_file():
            return
        with self.connection() as con, self.lock:
            for name in tables(con, self.config.schema_name):
                if self.is_own_stage(name):
                    con.execute(f"DROP TABLE IF EXISTS {self.name(name)}")

    def last_commit(self) -> Commit | None:
        if not Path(self.path).is_file():
            return None
        with self.connection() as con:
            if COMMITS not in tables(con, self.config.schema_name):
                return None
            row = con.execute(
                f"SELECT run_id, published_at, watermark, state FROM {self.name(COMMITS)}"
                " WHERE destination = ? ORDER BY published_at DESC, run_id DESC LIMIT 1",
                [self.qualified],
            ).fetchone()
        return None if row is None else Commit(row[0], row[1], row[2], row[3] and bytes(row[3]))

    def open(self) -> duckdb.DuckDBPyConnection:
        with self.errors():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(self.path)
            con.execute("SET SESSION TimeZone = 'UTC'")
            return con

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; errors inside leave as hygge errors."""
        con = self.open()
        try:
            with self.errors():
                yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """The one place DuckDB errors become hygge errors. A file locked by another process
        and a write conflict are transient (the flow retries); the rest fail the load."""
        try:
            yield
        except (duckdb.Error, OSError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            message = f"cannot write {self.destination()}: {detail}"
            lowered = detail.lower()
            if "could not set lock" in lowered or isinstance(exc, duckdb.TransactionException):
                raise RetryableError(message, hint="another process holds the database") from exc
            raise StoreError(message) from exc


def tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
    ).fetchall()
    return [row[0] for row in rows]


def columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table; empty when the table does not exist."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return {row[0]: row[1] for row in rows}


class DuckDbLoad(Load):
    """One run's rows in a staging table of its own, published in one transaction."""

    def __init__(self, store: DuckDbStore, run: LoadRun) -> None:
        self.store = store
        self.run = run
        self.stage_name = store.stage_name(run.run_id)
        self.stage = store.name(self.stage_name)
        self.staged = False
        self.con: duckdb.DuckDBPyConnection | None = store.open()
        try:
            with store.errors(), store.lock:
                self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {store.schema}")
                self.con.execute(f"DROP TABLE IF EXISTS {self.stage}")
        except BaseException:
            self._close()
            raise

    def write(self, frame: pl.DataFrame) -> None:
        """Append through DuckDB's Arrow scan; the first frame's columns make the stage."""
        con = self._connection()
        with self.store.errors():
            con.register("hygge_frame", frame.to_arrow())
            try:
                if self.staged:
                    con.execute(f"INSERT INTO {self.stage} BY NAME SELECT * FROM hygge_frame")
                else:
                    with self.store.lock:
                        con.execute(f"CREATE TABLE {self.stage} AS SELECT * FROM hygge_frame")
                    self.staged = True
            finally:
                con.unregister("hygge_frame")

    def publish(self, commit: Commit | None = None) -> None:
        commit = commit or Commit(self.run.run_id, datetime.now(UTC))
        con = self._connection()
        with self.store.errors(), self.store.lock:
            con.execute("BEGIN TRANSACTION")
            try:
                if self.run.run_type == "full_drop":
                    self._replace(con)
                else:
                    self._append(con)
                self._record(con, commit)
                failpoint("sql_before_commit")
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
        self._close()

    def abort(self) -> None:
        if self.con is None:
            return
        try:
            with self.store.errors(), self.store.lock:
                self.con.execute(f"DROP TABLE IF EXISTS {self.stage}")
        finally:
            self._close()

    def _replace(self, con: duckdb.DuckDBPyConnection) -> None:
        """full_drop: the stage takes the destination's place; with no rows and no columns
        staged, the destination keeps its columns and loses its rows (and a missing one stays
        missing: there is no schema to create it with)."""
        store = self.store
        if self.staged:
            con.execute(f"DROP TABLE IF EXISTS {store.table}")
            con.execute(f"ALTER TABLE {self.stage} RENAME TO {quote(store.config.table)}")
        elif columns(con, store.config.schema_name, store.config.table):
            con.execute(f"DELETE FROM {store.table}")

    def _append(self, con: duckdb.DuckDBPyConnection) -> None:
        """incremental and merge: new columns first, then (merge) the old rows out, the new in."""
        if not self.staged:
            return
        store, schema = self.store, self.store.config.schema_name
        staged = columns(con, schema, self.stage_name)
        missing = [key for key in self.run.primary_key if key not in staged]
        if self.run.run_type == "merge" and missing:
            raise StoreError(f"primary key column(s) {missing} are not in the rows to merge")
        held = columns(con, schema, store.config.table)
        if not held:
            con.execute(f"ALTER TABLE {self.stage} RENAME TO {quote(store.config.table)}")
            return
        for name, dtype in new_columns(held, staged, _fits(con), store.qualified):
            con.execute(f"ALTER TABLE {store.table} ADD COLUMN {quote(name)} {dtype}")
        if self.run.run_type == "merge":
            keys = " AND ".join(
                f"d.{quote(k)} IS NOT DISTINCT FROM s.{quote(k)}" for k in self.run.primary_key
            )
            con.execute(f"DELETE FROM {store.table} AS d USING {self.stage} AS s WHERE {keys}")
        con.execute(f"INSERT INTO {store.table} BY NAME SELECT * FROM {self.stage}")
        con.execute(f"DROP TABLE {self.stage}")

    def _record(self, con: duckdb.DuckDBPyConnection, commit: Commit) -> None:
        """The commit record, in the publish's transaction; only the newest few are kept."""
        records, where = self.store.name(COMMITS), self.store.qualified
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {records} (run_id VARCHAR NOT NULL,"
            " destination VARCHAR NOT NULL, published_at TIMESTAMPTZ NOT NULL,"
            " watermark VARCHAR, state BLOB)"
        )
        con.execute(
            f"INSERT INTO {records} VALUES (?, ?, ?, ?, ?)",
            [commit.run_id, where, commit.published_at, commit.watermark, commit.state],
        )
        con.execute(
            f"DELETE FROM {records} WHERE destination = ? AND run_id NOT IN (SELECT run_id"
            f" FROM {records} WHERE destination = ? ORDER BY published_at DESC, run_id DESC"
            f" LIMIT {KEEP_COMMITS})",
            [where, where],
        )

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            raise StoreError(f"the load of run {self.run.run_id} is already finished")
        return self.con

    def _close(self) -> None:
        con, self.con = self.con, None
        if con is not None:
            con.close()


def _fits(con: duckdb.DuckDBPyConnection) -> Callable[[str, str], bool]:
    """DuckDB's own rule: can the source type be cast to the destination's implicitly?"""

    def fits(source: str, destination: str) -> bool:
        cast = f"can_cast_implicitly(CAST(NULL AS {source}), CAST(NULL AS {destination}))"
        row = con.execute(f"SELECT {cast}").fetchone()
        return bool(row and row[0])

    return fits
