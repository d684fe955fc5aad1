"""A PostgreSQL table as a store: staged by COPY, published in one transaction.

Each load copies its rows (ADBC bulk ingest, i.e. COPY in binary) into a staging table of its
own beside the destination, created up front with types chosen from the first frame's schema
so that `numeric(p,s)`, `timestamptz` and the rest arrive exactly; all of a load's frames go
through one COPY that a thread streams (`_pg_ingest`). The stage's name carries a digest of
the table name (PostgreSQL cuts identifiers at 63 bytes). Publishing is `_sql_load`'s one
transaction; here it holds a transaction-scoped advisory lock on the schema, so two entities
never race to create `_hygge_commits` or the schema. A value PostgreSQL refuses is looked for
in each batch before it joins the COPY (`_values`), and text too long for a `varchar(n)` of an
existing destination before the publish's INSERT: the server's own errors name no column.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import adbc_driver_postgresql.dbapi  # noqa: F401  (the driver: a missing one is reported early)
import polars as pl
import pyarrow as pa
from adbc_driver_manager import dbapi
from pydantic import Field

from hygge.connections import pool_need, where
from hygge.engines.cursor import Cursor
from hygge.engines.dialect import quote
from hygge.engines.postgres import (
    DEFAULT_SCHEMA,
    NAME_LIMIT,
    PgConfig,
    column_type,
    connect,
    database_target,
    fits,
    table_ddl,
)
from hygge.errors import StoreError
from hygge.plugin import Commit, Load, LoadRun
from hygge.redact import value_sample
from hygge.stores._pg_ingest import Ingest, conformed
from hygge.stores._sql import (
    SqlStore,
    SqlStoreConfig,
    bulk_ready,
    transaction,
)
from hygge.stores._sql_columns import column_types, known_types
from hygge.stores._sql_load import SqlLoad
from hygge.stores._values import POSTGRES, first_refused, refusal

_BOUNDED = re.compile(r"^(?:character varying|character)\((\d+)\)$")  # format_type's names


class PostgresStoreConfig(SqlStoreConfig, PgConfig):
    type: Literal["postgres"] = "postgres"
    schema_name: str = Field(DEFAULT_SCHEMA, alias="schema")


class PostgresStore(SqlStore[PostgresStoreConfig]):
    Config = PostgresStoreConfig
    identifier_limit = NAME_LIMIT
    folds_names = False  # names go in quoted, so PostgreSQL keeps their case
    commit_columns = (
        "run_id text NOT NULL, destination text NOT NULL, published_at timestamptz NOT NULL,"
        " watermark text, state bytea"
    )

    @property
    def schema(self) -> str:
        return quote(self.config.schema_name)

    def name(self, table: str) -> str:
        return f"{self.schema}.{quote(table)}"

    def placeholder(self, number: int) -> str:
        return f"${number}"

    def destination(self) -> str:
        return f"postgres {where(self.config)}#{self.qualified}"

    def database_target(self) -> str:
        return database_target(self.config)

    def start(self, run: LoadRun) -> Load:
        return PostgresLoad(self, run)

    def pool_needs(self) -> Mapping[str, int]:
        return pool_need(self.config, 1)  # one at a time: the stage, the load's COPY, the publish

    def recover(self) -> None:
        Ingest.stop_running(self.destination())  # an open COPY would keep its stage locked
        super().recover()

    def ensure_schema(self, cur: Cursor) -> None:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")

    def tables(self, cur: Cursor) -> list[str]:
        cur.execute(
            "SELECT table_name::text AS name FROM information_schema.tables"
            " WHERE table_schema = $1",
            [self.config.schema_name],
        )
        return [str(row[0]) for row in cur.fetchall()]

    def columns(self, cur: Cursor, table: str) -> dict[str, str]:
        cur.execute(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped"
            " ORDER BY a.attnum",
            [self.name(table)],
        )
        return {str(name): str(dtype) for name, dtype in cur.fetchall()}

    def stage_types(self, cur: Cursor, incoming: pl.Schema) -> dict[str, str]:
        return known_types(incoming, column_type)

    def fits(self, cur: Cursor) -> Callable[[str, str], bool]:
        return fits(cur)

    def record_values(self, commit: Commit) -> tuple[str, Any]:
        """As one typed Arrow row, published_at as text: ADBC wraps a timestamptz bind in a
        transaction of its own, whose COMMIT would end the publish's transaction early."""
        columns = {
            "run_id": pa.array([commit.run_id], pa.string()),
            "destination": pa.array([self.qualified], pa.string()),
            "published_at": pa.array([commit.published_at.isoformat()], pa.string()),
            "watermark": pa.array([commit.watermark], pa.string()),
            "state": pa.array([commit.state], pa.binary()),
        }
        row = pa.record_batch(list(columns.values()), names=list(columns))
        return "$1, $2, $3::timestamptz, $4, $5", row

    @contextlib.contextmanager
    def cursor(self) -> Iterator[dbapi.Cursor]:
        """A cursor on a borrowed connection; driver errors inside leave as StoreError."""
        with connect(self.config, self.context, StoreError) as con, con.cursor() as cur:
            yield cur

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dbapi.Cursor]:
        """BEGIN ... COMMIT holding this schema's advisory lock; ROLLBACK on any error."""
        with self.cursor() as cur, transaction(cur):
            cur.execute("SELECT pg_advisory_xact_lock(hashtext($1))", [self.schema])
            cur.fetchall()
            yield cur


class PostgresLoad(SqlLoad):
    """Its frames go through one COPY into the stage, streamed by a thread (`_pg_ingest`)."""

    store: PostgresStore

    def __init__(self, store: PostgresStore, run: LoadRun) -> None:
        super().__init__(store, run)
        self.types: dict[str, str] = {}  # column -> PostgreSQL type, once the stage exists
        self.ingest: Ingest | None = None  # the load's one COPY, from the first frame on
        self.batches = self.rows = 0  # written so far, for messages
        with store.transaction() as cur:
            store.ensure_schema(cur)
            cur.execute(f"DROP TABLE IF EXISTS {self.stage}")

    def write(self, frame: pl.DataFrame) -> None:
        """Queue the frame for the load's COPY; the first frame's columns make the stage."""
        self.require_open()
        ready = bulk_ready(frame)
        self.batches += 1
        self.refuse_values(ready)
        if self.ingest is None:
            types = column_types(frame.schema, column_type)
            data = ready.to_arrow()
            with self.store.cursor() as cur:  # released before the ingest borrows its own
                cur.execute(f"CREATE TABLE {self.stage} ({table_ddl(types)})")
            self.types, self.staged = types, True
            context = self.store.context
            name = f"hygge-pg-ingest-{context.flow}.{context.entity}"
            self.ingest = Ingest(self.store.destination(), data.schema, self._ingest, name)
        else:
            data = conformed(ready, self.ingest.schema, self.types)
        self.ingest.put(data)
        self.rows += frame.height

    def refuse_values(self, ready: pl.DataFrame) -> None:
        """Fail at the batch holding a value PostgreSQL refuses, naming it (`_values`)."""
        found = first_refused(ready, POSTGRES)
        if found is not None:
            dtype = column_type(found.column, ready.schema[found.column])
            where = self.store.destination()
            raise refusal(found, where, "PostgreSQL", dtype, self.batches, self.rows)

    def append(self, cur: Cursor) -> list[tuple[str, str]]:
        """incremental and merge: text too long for a destination's varchar(n) or char(n)
        column is refused first, naming the column (PostgreSQL's error would not)."""
        if self.staged:
            self.refuse_too_long(cur)
        return super().append(cur)

    def refuse_too_long(self, cur: Cursor) -> None:
        store = self.store
        for name, dtype in store.columns(cur, store.config.table).items():
            bounded = _BOUNDED.match(dtype)
            if bounded is None or self.types.get(name) != "text":
                continue
            column = quote(name)  # excess trailing spaces are cut, not refused
            cur.execute(
                f"SELECT {column} FROM {self.stage}"
                f" WHERE char_length(rtrim({column}, ' ')) > {int(bounded[1])} LIMIT 1"
            )
            rows = cur.fetchall()
            if rows:
                raise StoreError(
                    f"{store.destination()}: column {name!r} is {dtype} in {store.qualified},"
                    f" too short for a value of the load: {value_sample(name, repr(rows[0][0]))}",
                    hint="widen the column (or make it text), or shorten the values in the source",
                )

    def _ingest(self, reader: pa.RecordBatchReader) -> None:
        """On the ingest's thread: every frame of the load, in one COPY into the stage."""
        with self.store.cursor() as cur:
            cur.adbc_ingest(
                self.stage_name, reader, mode="append", db_schema_name=self.store.config.schema_name
            )

    @contextlib.contextmanager
    def publishing(self) -> Iterator[Cursor]:
        if self.ingest is not None:
            self.ingest.finish()  # the COPY's connection goes back before the publish borrows
        with self.store.transaction() as cur:
            yield cur

    def cursor(self) -> contextlib.AbstractContextManager[dbapi.Cursor]:
        return self.store.cursor()

    def abort(self) -> None:
        if not self.finished and self.ingest is not None:
            self.ingest.stop()  # first: the open COPY holds a connection and locks the stage
        super().abort()
