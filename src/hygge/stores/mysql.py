"""A MariaDB/MySQL table as a store: staged by LOAD DATA LOCAL, published transactionally.

Each load fills an InnoDB staging table of its own beside the destination (same database,
name `_hygge_stage#<digest of the destination>#<run id>`, cut to MySQL's 64 characters) from
a temporary CSV written by Polars: LOAD DATA LOCAL INFILE is the server's bulk path, far
faster than INSERTs. (A server with local_infile off refuses it; the load then fails naming
the setting, which is the documented switch to flip.)

MySQL commits implicitly around every DDL statement, so what PostgreSQL does in one
transaction is arranged so that every crash point stays recoverable:
- incremental and merge: DDL first (create the commits table, `CREATE TABLE dest LIKE stage`
  when there is no destination, ADD COLUMN for new source columns, all harmless alone), then
  ONE transaction: (merge) DELETE the destination rows whose key is staged (`<=>`, so NULL
  keys match and no unique index is needed), INSERT ... SELECT the stage, write the commit
  record. Data and record commit together; a crash before COMMIT publishes neither.
- full_drop: the stage is made with the comment `hygge run <run id>`; the commit record,
  flagged `swap`, commits in its own transaction BEFORE `RENAME TABLE dest TO old, stage TO
  dest` (atomic: readers see the old table or the new), then DROP old. A swap record counts
  (`last_commit()`) only while the destination's comment names its run, i.e. once its RENAME
  happened: a crash after the RENAME is adopted like any published load (a watermark is never
  lost, so no row is read twice), one before it leaves a record that never counts (pruned
  with the rest after KEEP_COMMITS loads) and the old table in place. The old table carries
  this destination's stage prefix, so `recover()` drops it too, as it does stale stages.
  `_hygge_commits` tables of earlier versions get the `swap` column (default false) added.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pymysql  # the driver: a missing one is reported early
import pymysql.cursors
from pydantic import Field

from hygge.connections import pool_need, where
from hygge.engines.cursor import Cursor
from hygge.engines.mysql import (
    NAME_LIMIT,
    MySqlConfig,
    column_type,
    connect,
    database_target,
    fits,
    normal,
    quote,
    table_ddl,
    write_csv,
)
from hygge.errors import EntityError, StoreError
from hygge.failpoints import failpoint
from hygge.plugin import Commit, Load, LoadRun
from hygge.results import SchemaChange
from hygge.stores._one_per_key import one_row_per_key
from hygge.stores._sql import (
    COMMITS,
    KEEP_COMMITS,
    SqlStore,
    SqlStoreConfig,
    transaction,
)
from hygge.stores._sql_columns import column_types, known_types
from hygge.stores._sql_columns import new_columns as _new_columns
from hygge.stores._sql_load import StagedLoad
from hygge.stores._values import Refused, refusal, shown

_ENGINE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
_MARK = "hygge run "  # a full_drop stage's comment, followed by its run id
_DUPLICATE_COLUMN = 1060  # ER_DUP_FIELDNAME
_AT_ROW = re.compile(r"column (?:`[^`]*`\.)*[`']([^`']+)[`'] at row (\d+)")  # of a warning


class MySqlStoreConfig(SqlStoreConfig, MySqlConfig):
    """`schema` is the database to write to; by default the URL's."""

    type: Literal["mysql"] = "mysql"
    schema_name: str = Field("", alias="schema")
    """The database to write to; by default the URL's."""


class MySqlStore(SqlStore[MySqlStoreConfig]):
    Config = MySqlStoreConfig
    identifier_limit = NAME_LIMIT

    @property
    def database(self) -> str:
        return self.config.schema_name or self.config.database()

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.config.table}"

    def name(self, table: str) -> str:
        """A table of this store's database, quoted."""
        return f"{quote(self.database)}.{quote(table)}"

    def destination(self) -> str:
        return f"mysql {where(self.config)}#{self.qualified}"

    def database_target(self) -> str:
        return database_target(self.config)

    def stage_name(self, run_id: str) -> str:
        """A long run id is digested, not cut: the name needs room for `#old` (full_drop)."""
        if len(run_id) > 30:
            run_id = hashlib.sha256(run_id.encode()).hexdigest()[:30]
        return f"{self.stage_prefix()}{run_id}"

    def preflight(self) -> list[str]:
        if not self.database:
            return [f"{self.destination()}: give 'schema' or a database"]
        return super().preflight()

    def check(self) -> list[str]:
        """Create and drop a table in the database (DDL cannot be rolled back here)."""
        probe = self.name(self.stage_name("check-" + os.urandom(4).hex()))
        try:
            with self.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(self.database)}")
                cur.execute(f"CREATE TABLE {probe} (x int) {_ENGINE}")
                cur.execute(f"DROP TABLE {probe}")
        except EntityError as exc:
            return [exc.message]
        return []

    def start(self, run: LoadRun) -> Load:
        return MySqlLoad(self, run)

    def pool_needs(self) -> Mapping[str, int]:
        return pool_need(self.config, 1)  # one at a time: each LOAD DATA, the publish

    def last_commit(self) -> Commit | None:
        """The newest published record: a full_drop's swap record only once its RENAME made
        its stage the destination (the table's comment names the run)."""
        with self.cursor() as cur:
            columns = self.record_columns(cur)
            if not columns:
                return None
            query = (
                f"SELECT run_id, published_at, watermark, state FROM {self.name(COMMITS)}"
                " WHERE destination = %s"
            )
            params: list[Any] = [self.qualified]
            if "swap" in columns:  # NULL (no run swapped in) matches no swap record
                query += " AND (NOT swap OR run_id = %s)"
                params.append(self.swapped_in(cur))
            cur.execute(query + " ORDER BY published_at DESC, run_id DESC LIMIT 1", params)
            row = cur.fetchone()
        if row is None:
            return None
        state = bytes(row[3]) if row[3] is not None else None
        return Commit(row[0], row[1].replace(tzinfo=UTC), row[2], state)

    def swapped_in(self, cur: Cursor) -> str | None:
        """The full_drop run whose stage is now the destination, from the table's comment."""
        cur.execute(
            "SELECT table_comment FROM information_schema.tables"
            " WHERE table_schema = %s AND table_name = %s",
            [self.database, self.config.table],
        )
        row = cur.fetchone()
        comment = str(row[0]) if row and row[0] is not None else ""
        return comment.removeprefix(_MARK) if comment.startswith(_MARK) else None

    def record_columns(self, cur: Cursor) -> set[str]:
        """The columns of `_hygge_commits`; empty when it does not exist."""
        cur.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s",
            [self.database, COMMITS],
        )
        return {str(row[0]).lower() for row in cur.fetchall()}

    def make_commits(self, cur: Cursor) -> None:
        """Create `_hygge_commits`, or add the `swap` column an earlier version's lacks (a
        concurrent load of another table may add it first: that is no error)."""
        records = self.name(COMMITS)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {records} (run_id varchar(255) NOT NULL,"
            " destination varchar(255) NOT NULL, published_at datetime(6) NOT NULL,"
            f" watermark longtext, state longblob, swap boolean NOT NULL DEFAULT 0) {_ENGINE}"
        )
        if "swap" in self.record_columns(cur):
            return
        try:
            cur.execute(f"ALTER TABLE {records} ADD COLUMN swap boolean NOT NULL DEFAULT 0")
        except pymysql.MySQLError as exc:
            if exc.args[:1] != (_DUPLICATE_COLUMN,):
                raise

    def tables(self, cur: Cursor) -> list[str]:
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [self.database],
        )
        return [str(row[0]) for row in cur.fetchall()]

    def columns(self, cur: Cursor, table: str) -> dict[str, str]:
        cur.execute(
            "SELECT column_name, column_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [self.database, table],
        )
        return {str(name): normal(str(dtype)) for name, dtype in cur.fetchall()}

    def stage_types(self, cur: Cursor, incoming: pl.Schema) -> dict[str, str]:
        return known_types(incoming, column_type)

    def fits(self, cur: Cursor) -> Callable[[str, str], bool]:
        return fits

    @contextlib.contextmanager
    def cursor(self) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor on a borrowed connection; driver errors inside leave as StoreError."""
        with connect(self.config, self.context, StoreError) as con, con.cursor() as cur:
            yield cur

    def transaction(self, cur: Cursor) -> contextlib.AbstractContextManager[Cursor]:
        """START TRANSACTION ... COMMIT on cur; ROLLBACK on any error. No DDL inside."""
        return transaction(cur, "START TRANSACTION")


class MySqlLoad(StagedLoad):
    """Published as the module docstring says: MySQL commits around DDL."""

    store: MySqlStore

    def __init__(self, store: MySqlStore, run: LoadRun) -> None:
        super().__init__(store, run)
        self.types: dict[str, str] = {}  # column -> MySQL type, once the stage exists
        self.batches = self.rows = 0  # written so far, for messages
        with store.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(store.database)}")
            cur.execute(f"DROP TABLE IF EXISTS {self.stage}")

    def write(self, frame: pl.DataFrame) -> None:
        """LOAD DATA the frame into the stage; the first frame's columns make the stage."""
        self.require_open()
        self.batches += 1
        with tempfile.TemporaryDirectory(prefix="hygge-mysql-") as folder:
            path = Path(folder) / "rows.csv"
            targets = write_csv(frame, path)
            sets = [
                f"{quote(name)} = UNHEX({target})"
                for name, target in zip(frame.columns, targets, strict=True)
                if target.startswith("@")
            ]
            with self.store.cursor() as cur:
                if not self.staged:
                    types = column_types(frame.schema, column_type)
                    cur.execute(f"CREATE TABLE {self.stage} ({table_ddl(types)}) {_ENGINE}")
                    if self.run.run_type == "full_drop":  # names the run once swapped in
                        cur.execute(
                            f"ALTER TABLE {self.stage} COMMENT = %s", [_MARK + self.run.run_id]
                        )
                    self.types, self.staged = types, True
                if frame.height:
                    cur.execute(
                        f"LOAD DATA LOCAL INFILE %s INTO TABLE {self.stage}"
                        " CHARACTER SET utf8mb4 FIELDS TERMINATED BY ','"
                        " OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n'"
                        f" ({', '.join(targets)})" + (f" SET {', '.join(sets)}" if sets else ""),
                        [str(path)],
                    )
                    self.refuse_changed(cur, frame)
        self.rows += frame.height

    def refuse_changed(self, cur: pymysql.cursors.Cursor, frame: pl.DataFrame) -> None:
        """LOAD DATA LOCAL stores a value it cannot take changed (a date as 0000-00-00, a
        decimal clamped to its largest), with only a warning: fail at the batch instead,
        naming the column, the row and the value."""
        if not cur.warning_count:  # the server's reply says so: no extra round trip
            return
        cur.execute("SHOW WARNINGS")
        warnings = [row for row in cur.fetchall() if row[0] != "Note"]
        if not warnings:
            return
        _, code, text = warnings[0]
        where = self.store.destination()
        at = _AT_ROW.search(text)
        if at is None or at[1] not in self.types:
            raise StoreError(f"{where}: batch {self.batches} would be stored changed: {text}")
        column, row = at[1], int(at[2]) - 1
        what = re.split(r":| for column", text)[0]
        reason = f"{what} (warning {code}), LOAD DATA would store it changed"
        found = Refused(column, row, reason, shown(frame[column], row))
        raise refusal(found, where, "MySQL", self.types[column], self.batches, self.rows)

    def publish(self, commit: Commit) -> None:
        self.require_open()
        store = self.store
        with store.cursor() as cur:
            store.make_commits(cur)
            self.count_staged(cur)
            if self.run.run_type == "full_drop":
                self._replace(cur, commit)
            else:
                self._append(cur, commit)
        self.close()

    def cursor(self) -> contextlib.AbstractContextManager[pymysql.cursors.Cursor]:
        return self.store.cursor()

    def _replace(self, cur: Cursor, commit: Commit) -> None:
        """full_drop: the swap record, then the stage swaps in by one atomic RENAME (the
        record counts once it has; see the module docstring); with nothing staged the
        destination keeps its columns and loses its rows in the record's transaction (a
        missing one stays missing)."""
        store = self.store
        exists = bool(store.columns(cur, store.config.table))
        if not self.staged:
            with store.transaction(cur):
                if exists:
                    cur.execute(f"DELETE FROM {store.table}")
                self._record(cur, commit)
            return
        with store.transaction(cur):
            self._record(cur, commit, swap=True)
        failpoint("before_swap")
        old = store.name(f"{self.stage_name}#old")
        if exists:
            cur.execute(f"RENAME TABLE {store.table} TO {old}, {self.stage} TO {store.table}")
        else:
            cur.execute(f"RENAME TABLE {self.stage} TO {store.table}")
        failpoint("after_swap")
        cur.execute(f"DROP TABLE IF EXISTS {old}")

    def _append(self, cur: Cursor, commit: Commit) -> None:
        """incremental and merge: DDL first, then rows and record in one transaction."""
        store = self.store
        if self.staged:
            missing = [key for key in self.run.primary_key if key not in self.types]
            if self.run.run_type == "merge" and missing:
                raise StoreError(f"primary key column(s) {missing} are not in the rows to merge")
            if self.run.run_type == "merge":
                copy = store.name(f"{self.stage_name}#one")  # a stage name: recover() drops it
                run = self.run
                one_row_per_key(
                    cur, self.stage, copy, list(self.types), run.primary_key, run.version, quote
                )
            held = store.columns(cur, store.config.table)
            if not held:
                cur.execute(f"CREATE TABLE IF NOT EXISTS {store.table} LIKE {self.stage}")
            added = _new_columns(held, self.types, fits, store.qualified) if held else []
            for name, dtype in added:
                cur.execute(f"ALTER TABLE {store.table} ADD COLUMN {quote(name)} {dtype} NULL")
            self.schema_changes = tuple(SchemaChange(name, dtype) for name, dtype in added)
        with store.transaction(cur):
            if self.staged and self.run.run_type == "merge":
                keys = " AND ".join(f"d.{quote(k)} <=> s.{quote(k)}" for k in self.run.primary_key)
                cur.execute(f"DELETE d FROM {store.table} AS d JOIN {self.stage} AS s ON {keys}")
            if self.staged:
                names = ", ".join(quote(name) for name in self.types)
                cur.execute(f"INSERT INTO {store.table} ({names}) SELECT {names} FROM {self.stage}")
            self._record(cur, commit)
        cur.execute(f"DROP TABLE IF EXISTS {self.stage}")

    def _record(self, cur: Cursor, commit: Commit, swap: bool = False) -> None:
        """The commit record (published_at in UTC); only the newest few are kept."""
        records, here = self.store.name(COMMITS), self.store.qualified
        published = commit.published_at.astimezone(UTC).replace(tzinfo=None)
        cur.execute(
            f"INSERT INTO {records} (run_id, destination, published_at, watermark, state, swap)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [commit.run_id, here, published, commit.watermark, commit.state, swap],
        )
        cur.execute(
            f"DELETE FROM {records} WHERE destination = %s AND run_id NOT IN (SELECT run_id FROM"
            f" (SELECT run_id FROM {records} WHERE destination = %s"
            f" ORDER BY published_at DESC, run_id DESC LIMIT {KEEP_COMMITS}) AS keep)",
            [here, here],
        )
        failpoint("sql_before_commit")
