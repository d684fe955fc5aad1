"""The publish that DuckDB, SQLite and PostgreSQL share: one transaction, record included.

A load fills a staging table of its own (the engine's `write`), then publishes in one
transaction: full_drop drops the destination and renames the stage into its place (DDL is
transactional in these engines, so a reader sees the old table or the new); incremental adds
the source's new columns (nullable; the load's `schema_changes` name them), then inserts the
stage, or renames it into place when there is no destination yet; merge first deletes the
destination rows whose key is staged (NULL keys match, and no unique index is needed on tables
made by hand). With nothing staged, full_drop empties an existing destination (keeping its
columns) and the others do nothing.
The commit record goes into `_hygge_commits` in the same transaction. MySQL (it commits
around DDL) and SQL Server (its SQL is generated apart, testable without a server) publish
their own way.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from hygge.engines.cursor import Cursor
from hygge.engines.dialect import quote
from hygge.errors import StoreError
from hygge.failpoints import failpoint
from hygge.plugin import Commit, Load, LoadRun
from hygge.results import SchemaChange
from hygge.stores._one_per_key import one_row_per_key
from hygge.stores._sql import COMMITS, KEEP_COMMITS, FileDatabaseStore, SqlStore
from hygge.stores._sql_columns import new_columns


class StagedLoad(Load):
    """One run's rows in a staging table of its own, until published or aborted."""

    def __init__(self, store: SqlStore[Any], run: LoadRun) -> None:
        self.store = store
        self.run = run
        self.stage_name = store.stage_name(run.run_id)
        self.stage = store.name(self.stage_name)
        self.staged = False  # the first frame made the stage
        self.finished = False

    @abstractmethod
    def cursor(self) -> AbstractContextManager[Cursor]:
        """A cursor for this load's work outside the publish."""

    def abort(self) -> None:
        if self.finished:
            return
        try:
            with self.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {self.stage}")
        finally:
            self.close()

    def close(self) -> None:
        """The load is over: nothing more may be written or published."""
        self.finished = True

    def count_staged(self, cur: Cursor) -> None:
        """`published_rows`: the stage's rows as the database counts them, before a merge
        keeps one row per key (call inside the publish, before the stage moves)."""
        if not self.staged:
            self.published_rows = 0
            return
        cur.execute(f"SELECT {self.store.count_sql} FROM {self.stage}")
        row = cur.fetchone()
        self.published_rows = int(row[0]) if row else 0

    def require_open(self) -> None:
        if self.finished:
            raise StoreError(f"the load of run {self.run.run_id} is already finished")


class SqlLoad(StagedLoad):
    """A staged load published in one transaction, as the module docstring says."""

    @abstractmethod
    def publishing(self) -> AbstractContextManager[Cursor]:
        """The publish transaction's cursor: committed when the block ends, rolled back
        when it raises."""

    def publish(self, commit: Commit) -> None:
        self.require_open()
        added: list[tuple[str, str]] = []
        with self.publishing() as cur:
            self.count_staged(cur)
            if self.run.run_type == "full_drop":
                self.replace(cur)
            else:
                added = self.append(cur)
            self.record(cur, commit)
            failpoint("sql_before_commit")
        self.schema_changes = tuple(SchemaChange(name, dtype) for name, dtype in added)
        self.close()

    def replace(self, cur: Cursor) -> None:
        """full_drop: the stage takes the destination's place."""
        store = self.store
        if self.staged:
            cur.execute(f"DROP TABLE IF EXISTS {store.table}")
            cur.execute(f"ALTER TABLE {self.stage} RENAME TO {quote(store.config.table)}")
        elif store.columns(cur, store.config.table):
            cur.execute(f"DELETE FROM {store.table}")

    def append(self, cur: Cursor) -> list[tuple[str, str]]:
        """incremental and merge: new columns first, then (merge) the old rows out, the new in.
        Returns the columns added to the destination (name, type)."""
        if not self.staged:
            return []
        store = self.store
        staged = store.columns(cur, self.stage_name)
        missing = [key for key in self.run.primary_key if key not in staged]
        if self.run.run_type == "merge" and missing:
            raise StoreError(f"primary key column(s) {missing} are not in the rows to merge")
        if self.run.run_type == "merge":
            self.one_row_per_key(cur, list(staged))
        held = store.columns(cur, store.config.table)
        if not held:
            cur.execute(f"ALTER TABLE {self.stage} RENAME TO {quote(store.config.table)}")
            return []
        added = new_columns(held, staged, store.fits(cur), store.qualified)
        for name, dtype in added:
            cur.execute(f"ALTER TABLE {store.table} ADD COLUMN {quote(name)} {dtype}")
        if self.run.run_type == "merge":
            self.delete_matching(cur)
        names = ", ".join(quote(name) for name in staged)
        cur.execute(f"INSERT INTO {store.table} ({names}) SELECT {names} FROM {self.stage}")
        cur.execute(f"DROP TABLE {self.stage}")
        return added

    def one_row_per_key(self, cur: Cursor, names: list[str]) -> None:
        """merge: the stage keeps the newest version of each key (see `_one_per_key`)."""
        limit = self.store.identifier_limit or len(self.stage_name) + 4
        copy = self.store.name(f"{self.stage_name[: limit - 4]}#one")
        keys, version = self.run.primary_key, self.run.version
        one_row_per_key(cur, self.stage, copy, names, keys, version, quote)

    def delete_matching(self, cur: Cursor) -> None:
        """merge: delete the destination rows whose key is staged."""
        keys = " AND ".join(
            f"d.{quote(k)} IS NOT DISTINCT FROM s.{quote(k)}" for k in self.run.primary_key
        )
        cur.execute(f"DELETE FROM {self.store.table} AS d USING {self.stage} AS s WHERE {keys}")

    def record(self, cur: Cursor, commit: Commit) -> None:
        """The commit record, in the publish's transaction; only the newest few are kept."""
        store = self.store
        records, here, slot = store.name(COMMITS), store.qualified, store.placeholder
        cur.execute(f"CREATE TABLE IF NOT EXISTS {records} ({store.commit_columns})")
        values, params = store.record_values(commit)
        cur.execute(
            f"INSERT INTO {records} (run_id, destination, published_at, watermark, state)"
            f" VALUES ({values})",
            params,
        )
        cur.execute(
            f"DELETE FROM {records} WHERE destination = {slot(1)} AND run_id NOT IN (SELECT"
            f" run_id FROM {records} WHERE destination = {slot(2)}"
            f" ORDER BY published_at DESC, run_id DESC LIMIT {KEEP_COMMITS})",
            [here, here],
        )


class FileDatabaseLoad(SqlLoad):
    """A load holding its own connection to a database file from begin() to its end: the
    engines of one file (DuckDB, SQLite) share their write lock across connections, so one
    held connection keeps a load's writes in one place."""

    store: FileDatabaseStore[Any]

    def __init__(self, store: FileDatabaseStore[Any], run: LoadRun) -> None:
        super().__init__(store, run)
        self.con = store.open()
        try:
            with self.cursor() as cur:
                store.ensure_schema(cur)
                cur.execute(f"DROP TABLE IF EXISTS {self.stage}")
        except BaseException:
            self.close()
            raise

    @contextlib.contextmanager
    def cursor(self) -> Iterator[Cursor]:
        with self.store.errors():
            yield self.store.cursor_of(self.con)

    def close(self) -> None:
        super().close()
        self.con.close()
