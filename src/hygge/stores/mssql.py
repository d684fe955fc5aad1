"""A SQL Server table as a store: staged by bulk copy, published in one transaction.

Each load bulk-copies its rows from Arrow (mssql-python's `Cursor.bulkcopy_arrow`, the TDS
bulk-load protocol fed from Arrow buffers: no row becomes a Python object) into a staging
table of its own beside the destination, created up front with the types of
`hygge.engines.mssql.column_type`; `bulk_arrow` first widens the Arrow columns to those
types. The stage's name carries a digest of the destination's name.
Publishing is one transaction holding the schema's application lock (`sp_getapplock`):
full_drop drops the destination and renames the stage into place (`sp_rename`; DDL is
transactional in SQL Server, so readers see the old table or the new one); incremental inserts
the stage; merge deletes the staged keys first. The commit record goes into `_hygge_commits`
in the same transaction. The SQL itself is in `hygge.stores._mssql_sql`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import mssql_python  # noqa: F401  (the driver: a missing one is reported early)
import polars as pl
from pydantic import Field

from hygge.connections import pool_need, where
from hygge.engines.cursor import Cursor
from hygge.engines.mssql import (
    DEFAULT_SCHEMA,
    NAME_LIMIT,
    MsSqlConfig,
    bulk_arrow,
    column_type,
    connect,
    database_target,
    execute,
    fits,
    quote,
    table,
    type_text,
)
from hygge.errors import StoreError
from hygge.failpoints import failpoint
from hygge.plugin import Commit, Load, LoadRun
from hygge.results import SchemaChange
from hygge.stores import _mssql_sql as sql
from hygge.stores._one_per_key import one_row_per_key
from hygge.stores._sql import (
    SqlStore,
    SqlStoreConfig,
    commit_of,
    transaction,
)
from hygge.stores._sql_columns import column_types, known_types, new_columns
from hygge.stores._sql_load import StagedLoad

_BULK_ROWS = 100_000  # rows per bulk-load batch


class MsSqlStoreConfig(SqlStoreConfig, MsSqlConfig):
    type: Literal["mssql"] = "mssql"
    schema_name: str = Field(DEFAULT_SCHEMA, alias="schema")


class MsSqlStore(SqlStore[MsSqlStoreConfig]):
    Config = MsSqlStoreConfig
    identifier_limit = NAME_LIMIT
    begin_sql = "BEGIN TRANSACTION"
    rollback_sql = "IF @@TRANCOUNT > 0 ROLLBACK"
    count_sql = "COUNT_BIG(*)"  # count(*) is an int here

    def name(self, table_name: str) -> str:
        """A table of this store's schema, quoted."""
        return table(self.config.schema_name, table_name)

    def destination(self) -> str:
        return f"mssql {where(self.config)}#{self.qualified}"

    def database_target(self) -> str:
        """SQL Server's default collations compare names, database names too, without case."""
        return database_target(self.config)

    def start(self, run: LoadRun) -> Load:
        return MsSqlLoad(self, run)

    def pool_needs(self) -> Mapping[str, int]:
        return pool_need(self.config, 1)  # one at a time: each bulk copy, the publish

    def ensure_schema(self, cur: Cursor) -> None:
        execute(cur, *sql.ensure_schema(self.config.schema_name))

    def last_commit(self) -> Commit | None:
        with self.cursor() as cur:
            execute(cur, *sql.last_commit(self.config.schema_name, self.qualified))
            row = cur.fetchone() if cur.description else None
        return commit_of(row) if row else None

    def tables(self, cur: Cursor) -> list[str]:
        execute(
            cur,
            "SELECT name FROM sys.tables WHERE schema_id = SCHEMA_ID(?)",
            (self.config.schema_name,),
        )
        return [str(row[0]) for row in cur.fetchall()]

    def columns(self, cur: Cursor, table: str) -> dict[str, str]:
        execute(
            cur,
            "SELECT c.name, TYPE_NAME(c.user_type_id), c.max_length, c.precision, c.scale"
            " FROM sys.columns AS c WHERE c.object_id = OBJECT_ID(?, 'U') ORDER BY c.column_id",
            (self.name(table),),
        )
        return {str(r[0]): type_text(str(r[1]), *map(int, r[2:])) for r in cur.fetchall()}

    def stage_types(self, cur: Cursor, incoming: pl.Schema) -> dict[str, str]:
        return known_types(incoming, column_type)

    def fits(self, cur: Cursor) -> Callable[[str, str], bool]:
        return fits

    @contextlib.contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor (mssql_python.Cursor) on a borrowed connection; driver errors inside
        leave as StoreError."""
        with connect(self.config, self.context, StoreError) as con:
            cur = con.cursor()
            try:
                yield cur
            finally:
                cur.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """BEGIN TRANSACTION ... COMMIT holding the schema's lock; ROLLBACK on any error."""
        with self.cursor() as cur, transaction(cur, self.begin_sql, self.rollback_sql):
            execute(cur, *sql.lock(self.config.schema_name))
            yield cur


class MsSqlLoad(StagedLoad):
    """Published in one transaction by the statements of `_mssql_sql`."""

    store: MsSqlStore

    def __init__(self, store: MsSqlStore, run: LoadRun) -> None:
        super().__init__(store, run)
        self.types: dict[str, str] = {}  # column -> SQL Server type, once the stage exists
        with store.transaction() as cur:
            execute(cur, *sql.ensure_schema(store.config.schema_name))
            execute(cur, sql.drop_if_exists(self.stage))

    def write(self, frame: pl.DataFrame) -> None:
        """Bulk-copy the frame into the stage; the first frame's columns make the stage."""
        self.require_open()
        types = column_types(frame.schema, column_type)
        with self.store.cursor() as cur:
            if not self.staged:
                execute(cur, sql.create_table(self.stage, types))
                self.types, self.staged = types, True
            cur.bulkcopy_arrow(
                self.stage, bulk_arrow(frame), batch_size=_BULK_ROWS, timeout=0,
                column_mappings=list(frame.columns), keep_nulls=True,
            )  # fmt: skip

    def publish(self, commit: Commit) -> None:
        self.require_open()
        store, missing = self.store, [k for k in self.run.primary_key if k not in self.types]
        if self.run.run_type == "merge" and self.staged and missing:
            raise StoreError(f"primary key column(s) {missing} are not in the rows to merge")
        with store.transaction() as cur:
            self.count_staged(cur)
            if self.run.run_type == "merge" and self.staged:
                self._one_row_per_key(cur)
            held = store.columns(cur, store.config.table)
            added = []
            if self.run.run_type != "full_drop" and held and self.staged:
                added = new_columns(held, self.types, fits, store.qualified)
            for statement in sql.publish(
                store.config.schema_name, store.config.table, self.stage_name,
                self.run.run_type, self.types, held, self.run.primary_key,
            ):  # fmt: skip
                execute(cur, *statement)
            for statement in sql.record(
                store.config.schema_name, store.qualified, commit.run_id,
                commit.published_at, commit.watermark, commit.state,
            ):  # fmt: skip
                execute(cur, *statement)
            failpoint("sql_before_commit")
        self.schema_changes = tuple(SchemaChange(name, dtype) for name, dtype in added)
        self.close()

    def _one_row_per_key(self, cur: Cursor) -> None:
        """merge: the stage keeps the newest version of each key (see `_one_per_key`)."""
        run, copy = self.run, self.store.name(f"{self.stage_name}#one")
        names = list(self.types)
        one_row_per_key(cur, self.stage, copy, names, run.primary_key, run.version, quote, True)

    def cursor(self) -> contextlib.AbstractContextManager[Cursor]:
        return self.store.cursor()
