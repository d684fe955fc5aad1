"""A PostgreSQL table as a store: staged by COPY, published in one transaction.

Each load copies its rows (ADBC bulk ingest, i.e. COPY in binary) into a staging table of its
own beside the destination, created up front with types chosen from the first frame's schema
so that `numeric(p,s)`, `timestamptz` and the rest arrive exactly; all of a load's frames go
through one COPY that a thread streams (`_pg_ingest`). The stage's name carries a digest of
the table name, not the name itself: PostgreSQL cuts identifiers at 63 bytes, and a cut name
could make two destinations share a stage prefix. Publishing is one transaction:
full_drop drops the destination and renames the stage into its place; incremental inserts the
stage (renaming it into place when there is no destination yet); merge first deletes the
destination rows whose key is staged (keys compared with IS NOT DISTINCT FROM, so no unique
index is needed on tables made by hand). The commit record goes into `_hygge_commits` in the
same transaction. Publishes and catalog changes in one schema take a transaction-scoped
advisory lock, so two entities never race to create `_hygge_commits` or the schema.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import adbc_driver_postgresql.dbapi  # noqa: F401  (the driver: a missing one is reported early)
import polars as pl
import pyarrow as pa
from pydantic import Field

from hygge.connections import where
from hygge.errors import EntityError, StoreError
from hygge.failpoints import failpoint
from hygge.homes._sql import quote
from hygge.pg import PgConfig, connect
from hygge.plugin import Commit, Load, LoadRun
from hygge.stores._pg_ingest import Ingest, conformed
from hygge.stores._pg_types import column_types, fits, ingestable, table_ddl
from hygge.stores._sql import (
    COMMITS,
    KEEP_COMMITS,
    STAGE_PREFIX,
    SqlStore,
    SqlStoreConfig,
    new_columns,
)


class PostgresStoreConfig(SqlStoreConfig, PgConfig):
    type: Literal["postgres"] = "postgres"
    schema_name: str = Field("public", alias="schema")


class PostgresStore(SqlStore):
    Config = PostgresStoreConfig
    config: PostgresStoreConfig

    @property
    def schema(self) -> str:
        return quote(self.config.schema_name)

    @property
    def table(self) -> str:
        """The destination, quoted."""
        return self.name(self.config.table)

    def name(self, table: str) -> str:
        """A table of this store's schema, quoted."""
        return f"{self.schema}.{quote(table)}"

    def destination(self) -> str:
        return f"postgres {where(self.config)}#{self.qualified}"

    def stage_name(self, run_id: str) -> str:
        return f"{self._stage_prefix()}{run_id}"[:63]

    def is_own_stage(self, name: str) -> bool:
        return name.startswith(self._stage_prefix())

    def _stage_prefix(self) -> str:
        digest = hashlib.sha256(self.qualified.encode()).hexdigest()[:12]
        return f"{STAGE_PREFIX}{digest}#"

    def check(self) -> list[str]:
        """Create a table in the schema inside a transaction that is rolled back."""
        try:
            with self.cursor() as cur:
                cur.execute("BEGIN")
                try:
                    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                    cur.execute(f"CREATE TABLE {self.name(self.stage_name('check'))} (x int)")
                finally:
                    cur.execute("ROLLBACK")
        except EntityError as exc:
            return [exc.message]
        return []

    def begin(self, run: LoadRun) -> Load:
        self.refuse_undeclared(run.run_type)
        return PostgresLoad(self, run)

    def recover(self) -> None:
        """Drop the staging tables that crashed loads of this destination left."""
        Ingest.stop_running(self.destination())  # an open COPY would keep its stage locked
        with self.cursor() as cur:
            for name in self.tables(cur):
                if self.is_own_stage(name):
                    cur.execute(f"DROP TABLE IF EXISTS {self.name(name)}")

    def last_commit(self) -> Commit | None:
        with self.cursor() as cur:
            if COMMITS not in self.tables(cur):
                return None
            cur.execute(
                f"SELECT run_id, published_at, watermark, state FROM {self.name(COMMITS)}"
                " WHERE destination = $1 ORDER BY published_at DESC, run_id DESC LIMIT 1",
                [self.qualified],
            )
            rows = cur.fetch_arrow_table().to_pylist()
        if not rows:
            return None
        row = rows[0]
        return Commit(row["run_id"], row["published_at"], row["watermark"], row["state"])

    def tables(self, cur: Any) -> list[str]:
        cur.execute(
            "SELECT table_name::text AS name FROM information_schema.tables"
            " WHERE table_schema = $1",
            [self.config.schema_name],
        )
        return [str(row[0]) for row in cur.fetchall()]

    @contextlib.contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor on a borrowed connection; driver errors inside leave as StoreError."""
        with connect(self.config, self.context, StoreError) as con, con.cursor() as cur:
            yield cur

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """BEGIN ... COMMIT holding this schema's advisory lock; ROLLBACK on any error."""
        with self.cursor() as cur:
            cur.execute("BEGIN")
            try:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext($1))", [self.schema])
                cur.fetchall()
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    cur.execute("ROLLBACK")
                raise


class PostgresLoad(Load):
    """One run's rows in a staging table of its own, published in one transaction."""

    def __init__(self, store: PostgresStore, run: LoadRun) -> None:
        self.store = store
        self.run = run
        self.stage_name = store.stage_name(run.run_id)
        self.stage = store.name(self.stage_name)
        self.staged: dict[str, str] = {}  # column -> PostgreSQL type, once the stage exists
        self.ingest: Ingest | None = None  # the load's one COPY, from the first frame on
        self.finished = False
        with store.transaction() as cur:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {store.schema}")
            cur.execute(f"DROP TABLE IF EXISTS {self.stage}")

    def write(self, frame: pl.DataFrame) -> None:
        """Queue the frame for the load's COPY; the first frame's columns make the stage."""
        if self.finished:
            raise StoreError(f"the load of run {self.run.run_id} is already finished")
        if self.ingest is None:
            types = column_types(frame.schema)
            data = ingestable(frame).to_arrow()
            with self.store.cursor() as cur:  # released before the ingest borrows its own
                cur.execute(f"CREATE TABLE {self.stage} ({table_ddl(types)})")
            self.staged = types
            context = self.store.context
            name = f"hygge-pg-ingest-{context.flow}.{context.entity}"
            self.ingest = Ingest(self.store.destination(), data.schema, self._ingest, name)
        else:
            data = conformed(frame, self.ingest.schema, self.staged)
        self.ingest.put(data)

    def _ingest(self, reader: pa.RecordBatchReader) -> None:
        """On the ingest's thread: every frame of the load, in one COPY into the stage."""
        with self.store.cursor() as cur:
            cur.adbc_ingest(
                self.stage_name, reader, mode="append", db_schema_name=self.store.config.schema_name
            )

    def publish(self, commit: Commit | None = None) -> None:
        commit = commit or Commit(self.run.run_id, datetime.now(UTC))
        if self.finished:
            raise StoreError(f"the load of run {self.run.run_id} is already finished")
        if self.ingest is not None:
            self.ingest.finish()  # the COPY's connection goes back before the publish borrows
        with self.store.transaction() as cur:
            if self.run.run_type == "full_drop":
                self._replace(cur)
            else:
                self._append(cur)
            self._record(cur, commit)
            failpoint("sql_before_commit")
        self.finished = True

    def abort(self) -> None:
        if self.finished:
            return
        self.finished = True
        if self.ingest is not None:
            self.ingest.stop()  # first: the open COPY holds a connection and locks the stage
        with self.store.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.stage}")

    def _held(self, cur: Any) -> dict[str, str]:
        """Column -> type of the destination; empty when it does not exist."""
        cur.execute(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped"
            " ORDER BY a.attnum",
            [self.store.table],
        )
        return {str(name): str(dtype) for name, dtype in cur.fetchall()}

    def _replace(self, cur: Any) -> None:
        """full_drop: the stage takes the destination's place; with nothing staged the
        destination keeps its columns and loses its rows (a missing one stays missing)."""
        store = self.store
        if self.staged:
            cur.execute(f"DROP TABLE IF EXISTS {store.table}")
            cur.execute(f"ALTER TABLE {self.stage} RENAME TO {quote(store.config.table)}")
        elif self._held(cur):
            cur.execute(f"DELETE FROM {store.table}")

    def _append(self, cur: Any) -> None:
        """incremental and merge: new columns first, then (merge) the old rows out, the new in."""
        if not self.staged:
            return
        store = self.store
        missing = [key for key in self.run.primary_key if key not in self.staged]
        if self.run.run_type == "merge" and missing:
            raise StoreError(f"primary key column(s) {missing} are not in the rows to merge")
        held = self._held(cur)
        if not held:
            cur.execute(f"ALTER TABLE {self.stage} RENAME TO {quote(store.config.table)}")
            return
        for name, dtype in new_columns(held, self.staged, fits(cur), store.qualified):
            cur.execute(f"ALTER TABLE {store.table} ADD COLUMN {quote(name)} {dtype}")
        if self.run.run_type == "merge":
            keys = " AND ".join(
                f"d.{quote(k)} IS NOT DISTINCT FROM s.{quote(k)}" for k in self.run.primary_key
            )
            cur.execute(f"DELETE FROM {store.table} AS d USING {self.stage} AS s WHERE {keys}")
        names = ", ".join(quote(name) for name in self.staged)
        cur.execute(f"INSERT INTO {store.table} ({names}) SELECT {names} FROM {self.stage}")
        cur.execute(f"DROP TABLE {self.stage}")

    def _record(self, cur: Any, commit: Commit) -> None:
        """The commit record, in the publish's transaction; only the newest few are kept."""
        records, here = self.store.name(COMMITS), self.store.qualified
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {records} (run_id text NOT NULL,"
            " destination text NOT NULL, published_at timestamptz NOT NULL,"
            " watermark text, state bytea)"
        )
        values = pa.record_batch(
            [
                pa.array([commit.run_id], pa.string()),
                pa.array([here], pa.string()),
                # As text: ADBC wraps a timestamptz bind in a transaction of its own whose
                # COMMIT would end the publish's transaction early.
                pa.array([commit.published_at.isoformat()], pa.string()),
                pa.array([commit.watermark], pa.string()),
                pa.array([commit.state], pa.binary()),
            ],
            names=["run_id", "destination", "published_at", "watermark", "state"],
        )
        cur.execute(f"INSERT INTO {records} VALUES ($1, $2, $3::timestamptz, $4, $5)", values)
        cur.execute(
            f"DELETE FROM {records} WHERE destination = $1 AND run_id NOT IN (SELECT run_id"
            f" FROM {records} WHERE destination = $1 ORDER BY published_at DESC, run_id DESC"
            f" LIMIT {KEEP_COMMITS})",
            [here],
        )
