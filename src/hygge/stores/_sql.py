"""What every SQL store shares: naming, stages, the commit-record table, recovery, checks.

A load stages its rows in a table of its own beside the destination (same schema, so a
full_drop can rename it into place): `_hygge_stage#<table>#<run id>`, or where an engine's
names are short `_hygge_stage#<digest of schema.table>#<run id>`. `#` never occurs in a
validated table name, so `recover()` can tell this destination's leftovers from those of a
table whose name merely starts the same. Publishing also writes the load's commit record into
`_hygge_commits` (one row per load: run id, destination, published_at, watermark, state),
which is how a rerun learns what was published but never committed to the journal. An engine
module gives its cursor, catalog queries, quoting and placeholders (`SqlStore`, or
`FileDatabaseStore` for a database in one file); the publish most share is `_sql_load`, the
rule for new or changed source columns `_sql_columns`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import polars as pl
from pydantic import Field, field_validator, model_validator

from hygge.config.models import RunType
from hygge.engines.cursor import Cursor
from hygge.errors import EntityError
from hygge.filesystem import real_path
from hygge.plugin import Commit, Context, LandedColumn, PluginConfig, Store
from hygge.stores._sql_columns import landed_column

STAGE_PREFIX = "_hygge_stage#"
COMMITS = "_hygge_commits"
KEEP_COMMITS = 20  # records kept per destination; older ones can no longer matter
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
CursorT = TypeVar("CursorT", bound=Cursor)


def _identifier(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r} is not a plain name: use letters, digits and _")
    return value


def _table_name(value: str) -> str:
    """A plain name; `schema.table` was split before (one dot only: the database is the
    connection's)."""
    if "." in value:
        raise ValueError(f"{value!r} is not a table name: write table or schema.table")
    return _identifier(value)


class SqlStoreConfig(PluginConfig):
    """`table` is a name, or `schema.table` as a home's may be: then a `schema` given too
    must say the same."""

    table: str
    """The destination table (`schema.table` allowed)."""
    schema_name: str = Field(alias="schema")
    """The table's schema."""

    _table = field_validator("table")(_table_name)
    _schema = field_validator("schema_name")(_identifier)

    @model_validator(mode="before")
    @classmethod
    def _schema_in_table(cls, data: Any) -> Any:
        table = data.get("table") if isinstance(data, dict) else None
        if not isinstance(table, str) or table.count(".") != 1:
            return data
        schema, name = table.split(".")
        given = data.get("schema")
        if given is not None and given != schema:
            raise ValueError(
                f"table {table!r} names schema {schema!r}, but schema is {given!r}:"
                " name the schema in one place"
            )
        return {**data, "schema": schema, "table": name}


SqlStoreConfigT = TypeVar("SqlStoreConfigT", bound=SqlStoreConfig)


class SqlStore(Store[SqlStoreConfigT]):
    """A store writing one table of a SQL database: what every engine shares.

    An engine gives its cursor, its catalog (`tables`, `columns`), its quoting (`name`) and
    placeholders; recovering stages, checking access and reading the newest commit record
    are written once here. A DB-API cursor is expected (`execute`, then `fetchall`).
    """

    run_types: ClassVar[frozenset[RunType]] = frozenset({"full_drop", "incremental", "merge"})
    identifier_limit: ClassVar[int | None] = None  # longest name; set: stages carry a digest
    commit_columns: ClassVar[str] = ""  # the DDL of `_hygge_commits`' columns
    begin_sql: ClassVar[str] = "BEGIN"
    rollback_sql: ClassVar[str] = "ROLLBACK"
    count_sql: ClassVar[str] = "count(*)"  # a row count that cannot overflow
    folds_names: ClassVar[bool] = True  # the engine takes `Orders` and `orders` for one table

    @property
    def qualified(self) -> str:
        """`schema.table`: the destination's name inside its database (and in commit records)."""
        return f"{self.config.schema_name}.{self.config.table}"

    @property
    def table(self) -> str:
        """The destination, quoted."""
        return self.name(self.config.table)

    def target(self) -> str:
        """The database, then `#schema.table` in the case the engine tells apart."""
        name = self.qualified.lower() if self.folds_names else self.qualified
        return f"{self.database_target()}#{name}"

    @abstractmethod
    def database_target(self) -> str:
        """The database written, as an identity (see `Store.target`): a file's real path, or
        `engine://host:port/database` (never a user or password)."""

    @abstractmethod
    def name(self, table: str) -> str:
        """A table of this store's schema, quoted."""

    def placeholder(self, number: int) -> str:
        """The SQL text binding parameter `number` (1-based)."""
        return "?"

    @abstractmethod
    def cursor(self) -> AbstractContextManager[Cursor]:
        """A cursor for the block; driver errors inside leave as hygge errors."""

    @abstractmethod
    def tables(self, cur: Cursor) -> list[str]:
        """The names of the tables in this store's schema."""

    def ensure_schema(self, cur: Cursor) -> None:
        """Create this store's schema when it is missing (where the engine has schemas)."""

    def columns(self, cur: Cursor, table: str) -> dict[str, str]:
        """Column name -> type of a table of this schema; empty when it does not exist."""
        raise NotImplementedError

    def fits(self, cur: Cursor) -> Callable[[str, str], bool]:
        """The engine's rule for `new_columns`: does a source type fit a destination's?"""
        raise NotImplementedError

    def stage_types(self, cur: Cursor, incoming: pl.Schema) -> dict[str, str] | None:
        """The engine's type for each incoming column, as a load's stage gets it (and as
        `columns` names it), leaving out those it has none for (the load would fail);
        None: the engine cannot tell."""
        return None

    def landed_columns(self, incoming: pl.Schema) -> list[LandedColumn] | None:
        """The table's columns, held to incoming's by `new_columns`' rule."""
        if type(self).stage_types is SqlStore.stage_types:
            return None
        with self.cursor() as cur:
            held = self.columns(cur, self.config.table)
            if not held:
                return []
            given, fits = self.stage_types(cur, incoming) or {}, self.fits(cur)
            return [landed_column(n, held[n], n in incoming, given.get(n), fits) for n in held]

    def record_values(self, commit: Commit) -> tuple[str, Any]:
        """The VALUES of a commit record's row (run_id, destination, published_at,
        watermark, state) as SQL text, and the parameters it binds."""
        values = [commit.run_id, self.qualified, commit.published_at, commit.watermark]
        slots = ", ".join(self.placeholder(n) for n in range(1, 6))
        return slots, [*values, commit.state]

    def stage_name(self, run_id: str) -> str:
        name = f"{self.stage_prefix()}{run_id}"
        return name if self.identifier_limit is None else name[: self.identifier_limit]

    def is_own_stage(self, name: str) -> bool:
        return name.startswith(self.stage_prefix())

    def stage_prefix(self) -> str:
        """Where names are short, a digest of the destination stands for its name: a name
        cut to the limit could make two destinations share a prefix."""
        if self.identifier_limit is None:
            return f"{STAGE_PREFIX}{self.config.table}#"
        digest = hashlib.sha256(self.qualified.encode()).hexdigest()[:12]
        return f"{STAGE_PREFIX}{digest}#"

    def preflight(self) -> list[str]:
        """A name longer than the engine keeps would be cut, or refused mid-load."""
        limit = self.identifier_limit
        return [
            f"{key} {name!r} is {len(name)} characters; a {self.config.type} name has at most"
            f" {limit}"
            for key, name in (("table", self.config.table), ("schema", self.config.schema_name))
            if limit is not None and len(name.encode()) > limit
        ]

    def check(self) -> list[str]:
        """Create a table in the schema inside a transaction that is rolled back."""
        try:
            with self.cursor() as cur:
                cur.execute(self.begin_sql)
                try:
                    self.ensure_schema(cur)
                    cur.execute(f"CREATE TABLE {self.name(self.stage_name('check'))} (x int)")
                finally:
                    cur.execute(self.rollback_sql)
        except EntityError as exc:
            return [exc.message]
        return []

    def recover(self) -> None:
        """Drop the tables that crashed loads of this destination left."""
        with self.cursor() as cur:
            for name in self.tables(cur):
                if self.is_own_stage(name):
                    cur.execute(f"DROP TABLE IF EXISTS {self.name(name)}")

    def row_count(self) -> int | None:
        with self.cursor() as cur:
            if not self.columns(cur, self.config.table):  # as the publish looks a table up
                return None
            cur.execute(f"SELECT {self.count_sql} FROM {self.table}")
            rows = cur.fetchall()
        return int(rows[0][0])

    def last_commit(self) -> Commit | None:
        with self.cursor() as cur:
            if COMMITS not in self.tables(cur):
                return None
            cur.execute(
                f"SELECT run_id, published_at, watermark, state FROM {self.name(COMMITS)}"
                f" WHERE destination = {self.placeholder(1)}"
                " ORDER BY published_at DESC, run_id DESC LIMIT 1",
                [self.qualified],
            )
            rows = cur.fetchall()
        return commit_of(rows[0]) if rows else None


@contextlib.contextmanager
def transaction(
    cur: CursorT, begin: str = "BEGIN", rollback: str = "ROLLBACK"
) -> Iterator[CursorT]:
    """`begin` ... COMMIT on cur; anything raised inside (COMMIT included) rolls back."""
    cur.execute(begin)
    try:
        yield cur
        cur.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            cur.execute(rollback)
        raise


def commit_of(row: Sequence[Any]) -> Commit:
    """A commit record's row as a Commit; a time stored naive or as text is UTC."""
    run_id, published, watermark, state = row
    if not isinstance(published, datetime):
        published = datetime.fromisoformat(str(published))
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return Commit(str(run_id), published, watermark, None if state is None else bytes(state))


def bulk_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame in the types a bulk path sends as the stage's columns (vectorized): UInt64 as
    Decimal(20,0), since no signed integer holds them all; categorical, enum and all-NULL
    columns as text."""
    casts = {
        name: pl.Decimal(20, 0) if dtype == pl.UInt64 else pl.String()
        for name, dtype in frame.schema.items()
        if dtype == pl.UInt64 or isinstance(dtype, pl.Categorical | pl.Enum | pl.Null)
    }
    return frame.cast(casts) if casts else frame  # type: ignore[arg-type]


class FileDatabaseStoreConfig(SqlStoreConfig):
    path: str
    """The database file, relative to the project folder (created when missing)."""


FileDatabaseStoreConfigT = TypeVar("FileDatabaseStoreConfigT", bound=FileDatabaseStoreConfig)


class FileDatabaseStore(SqlStore[FileDatabaseStoreConfigT]):
    """A store in one database file of the project (DuckDB, SQLite), made by its first load:
    a missing file has no stages to recover and no records, and its folder must take it."""

    def __init__(self, config: FileDatabaseStoreConfigT, context: Context) -> None:
        super().__init__(config, context)
        self.path = context.resolve(config.path)

    def database_target(self) -> str:
        return real_path(self.path)

    @abstractmethod
    def open(self) -> Any:
        """A new connection to the file (creating it), errors mapped by `errors()`."""

    @abstractmethod
    def errors(self) -> AbstractContextManager[None]:
        """The one place the driver's errors become hygge errors."""

    @abstractmethod
    def cursor_of(self, connection: Any) -> Cursor:
        """A DB-API cursor on connection (DuckDB's connection is one itself)."""

    @contextlib.contextmanager
    def cursor(self) -> Iterator[Cursor]:
        """A cursor on a short-lived connection; errors inside leave as hygge errors."""
        con = self.open()
        try:
            with self.errors():
                yield self.cursor_of(con)
        finally:
            con.close()

    def preflight(self) -> list[str]:
        return [f"store database {self.path} is a folder"] if Path(self.path).is_dir() else []

    def check(self) -> list[str]:
        problems = self.preflight()
        if problems or Path(self.path).exists():
            return problems or super().check()
        folder = next(p for p in Path(self.path).parents if p.exists())
        writable = folder.is_dir() and os.access(folder, os.W_OK)
        return [] if writable else [f"store database {self.path}: {folder} is not writable"]

    def recover(self) -> None:
        if Path(self.path).is_file():
            super().recover()

    def last_commit(self) -> Commit | None:
        return super().last_commit() if Path(self.path).is_file() else None

    def row_count(self) -> int | None:
        return super().row_count() if Path(self.path).is_file() else None

    def landed_columns(self, incoming: pl.Schema) -> list[LandedColumn] | None:
        if Path(self.path).is_file() or type(self).stage_types is SqlStore.stage_types:
            return super().landed_columns(incoming)
        return []  # no file yet: no table (and no file is made)
