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
from pathlib import Path
from typing import Literal, cast

import duckdb
import polars as pl
from pydantic import Field

from hygge.engines.cursor import Cursor
from hygge.engines.dialect import quote
from hygge.engines.duckdb import connect, fits, mapped
from hygge.errors import StoreError
from hygge.plugin import Context, Load, LoadRun
from hygge.stores._sql import FileDatabaseStore, FileDatabaseStoreConfig, transaction
from hygge.stores._sql_load import FileDatabaseLoad
from hygge.stores._values import DUCKDB, first_refused, refusal

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _file_lock(path: str) -> threading.Lock:
    """The lock serializing catalog changes and publishes on one database file."""
    with _locks_guard:
        return _locks.setdefault(os.path.realpath(path), threading.Lock())


class DuckDbStoreConfig(FileDatabaseStoreConfig):
    type: Literal["duckdb"] = "duckdb"
    schema_name: str = Field("main", alias="schema")


class DuckDbStore(FileDatabaseStore[DuckDbStoreConfig]):
    Config = DuckDbStoreConfig
    begin_sql = "BEGIN TRANSACTION"
    commit_columns = (
        "run_id VARCHAR NOT NULL, destination VARCHAR NOT NULL,"
        " published_at TIMESTAMPTZ NOT NULL, watermark VARCHAR, state BLOB"
    )

    def __init__(self, config: DuckDbStoreConfig, context: Context) -> None:
        super().__init__(config, context)
        self.lock = _file_lock(self.path)
        self.schema = quote(config.schema_name)

    def name(self, table: str) -> str:
        return f"{self.schema}.{quote(table)}"

    def destination(self) -> str:
        return f"duckdb://{self.path}#{self.qualified}"

    def start(self, run: LoadRun) -> Load:
        return DuckDbLoad(self, run)

    def recover(self) -> None:
        with self.lock:
            super().recover()

    def ensure_schema(self, cur: Cursor) -> None:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")

    def tables(self, cur: Cursor) -> list[str]:
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            [self.config.schema_name],
        )
        return [row[0] for row in cur.fetchall()]

    def columns(self, cur: Cursor, table: str) -> dict[str, str]:
        cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [self.config.schema_name, table],
        )
        return {row[0]: row[1] for row in cur.fetchall()}

    def fits(self, cur: Cursor) -> Callable[[str, str], bool]:
        return fits(cur)

    def stage_types(self, cur: Cursor, incoming: pl.Schema) -> dict[str, str]:
        """As DuckDB's Arrow scan types a stage made of incoming's columns."""
        con = cast(duckdb.DuckDBPyConnection, cur)
        con.register("hygge_incoming", pl.DataFrame(schema=incoming).to_arrow())
        try:
            described = con.execute("DESCRIBE SELECT * FROM hygge_incoming").fetchall()
        finally:
            con.unregister("hygge_incoming")
        return {str(row[0]): str(row[1]) for row in described}

    def open(self) -> duckdb.DuckDBPyConnection:
        with self.errors():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            return connect(self.path, read_only=False)

    def cursor_of(self, connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        return connection

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """The one place DuckDB errors become hygge errors. A file locked by another process
        and a write conflict are transient (the flow retries); the rest fail the load."""
        try:
            yield
        except (duckdb.Error, OSError) as exc:
            raise mapped(exc, f"cannot write {self.destination()}", StoreError) from exc


class DuckDbLoad(FileDatabaseLoad):
    store: DuckDbStore
    batches = rows = 0  # written so far, for messages

    def write(self, frame: pl.DataFrame) -> None:
        """Append through DuckDB's Arrow scan; the first frame's columns make the stage."""
        self.require_open()
        self.batches += 1
        found = first_refused(frame, DUCKDB)  # DuckDB's own error would not name the column
        if found is not None:
            dtype = str(frame.schema[found.column])
            where = self.store.destination()
            raise refusal(found, where, "DuckDB", dtype, self.batches, self.rows)
        con = self.con
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
        self.rows += frame.height

    @contextlib.contextmanager
    def cursor(self) -> Iterator[Cursor]:
        """The load's connection, holding the file's catalog lock."""
        with self.store.lock, super().cursor() as con:
            yield con

    @contextlib.contextmanager
    def publishing(self) -> Iterator[Cursor]:
        with self.cursor() as con, transaction(con, "BEGIN TRANSACTION"):
            yield con
