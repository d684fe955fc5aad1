"""What every SQL home shares: a table or a query, the window as bound parameters, Arrow out.

A SQL home reads `table` (optionally `schema.table`) or runs `query`. The read window is
pushed down as a predicate whose values are bound parameters, never spliced into the text:
`(col >= ? AND col <= ?) OR col IS NULL`, written by the engine's `Dialect`
(`hygge.engines.dialect`: its quoting, its bound values, its placeholders) as the SQL is
built, never patched as text after. A table home gets it as its WHERE clause; a query places
it itself with the `{window}` placeholder (the dialect's `everything`, e.g. `TRUE`, when the
read has no window), so the predicate lands where the watermark column is visible, before
any join or aggregate.

A driver's home names its engine's `dialect` and implements `stream()` (run SQL with
parameters, yield Arrow record batches of at most batch_rows rows) and `fetch()`, turning the
SQL into the driver's form with `dialect.finish`. Rows only ever pass as Arrow batches into
`_arrow.to_frame`: no Python row loop.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import polars as pl
import pyarrow as pa
from pydantic import field_validator, model_validator

from hygge.connections import DatabaseConfig, pool_key, pool_need, where
from hygge.engines.dialect import Dialect
from hygge.errors import ConfigError, EntityError, SourceError
from hygge.filesystem import real_path
from hygge.homes._arrow import to_frame
from hygge.homes._partition import Partition, Range, check_partition, condition, read
from hygge.homes._shape import ShapeConfig, Shaper
from hygge.plugin import Context, Home, Window
from hygge.watermark import Mark

WINDOW = "{window}"
_TABLE = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,2}$")


def pool_limit(context: Context, connection: str | None, url: str) -> int:
    """How many connections of its pool a plugin on this connection or url may hold: the
    pool's size, less what the entity's store holds meanwhile (at least one)."""
    name = pool_key(connection, url)
    return max(1, context.pools.size(name) - context.reserved.get(name, 0))


class SqlHomeConfig(ShapeConfig):
    table: str | None = None
    """The table to read (`schema.table` allowed); or give `query`."""
    query: str | None = None
    """A SELECT to read instead of a table."""

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str | None) -> str | None:
        if value is not None and not _TABLE.match(value):
            raise ValueError(
                f"{value!r} is not a table name: use letters, digits and _ (schema.table allowed)"
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> SqlHomeConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of 'table' or 'query'")
        return self


class PartitionedHomeConfig(SqlHomeConfig):
    """The config of a home that can read a table in parallel ranges; a home whose config
    lacks `partition` refuses the key where it is written, as any unknown key."""

    partition: Partition | None = None
    """Read the table in parallel ranges of one column."""

    @model_validator(mode="after")
    def _partition_needs_table(self) -> PartitionedHomeConfig:
        if self.partition is not None and self.table is None:
            raise ValueError("'partition' needs 'table': a query cannot be split into ranges")
        return self


SqlHomeConfigT = TypeVar("SqlHomeConfigT", bound=SqlHomeConfig)


class SqlHome(Home[SqlHomeConfigT]):
    """A home reading one table or query of a SQL database, streamed as Arrow batches."""

    dialect: ClassVar[Dialect] = Dialect()  # how this engine writes SQL
    entity_keys = ("table", "query")

    def __init__(self, config: SqlHomeConfigT, context: Context) -> None:
        super().__init__(config, context)
        self.shaper = Shaper(config, f"{context.flow}.{context.entity}")
        self._chosen: list[str] | None = None  # the SELECT list, once checked
        self._everything = False  # asking the source's own columns: no SELECT list

    def source(self) -> str:
        """The table, or 'query', for messages."""
        return self.config.table or "query"

    def window_problem(self, column: str | None) -> str | None:
        """Why this home cannot push down a window on column; None when it can.

        A query without `{window}` cannot be restricted, and reading it whole would load
        every row again on each incremental run. Planning may ask this before anything runs.
        """
        if column is None or self.config.query is None or WINDOW in self.config.query:
            return None
        return (
            f"the query of {self.describe()} has no {WINDOW} placeholder, so the window on"
            f" {column!r} cannot be applied"
        )

    def batches(self, window: Window, batch_rows: int) -> Generator[pl.DataFrame]:
        self._require_window(window.column)
        partition = self.partition()
        self.select_list()  # checked once, before any thread reads
        if partition is not None:
            for frame in read(self, window, batch_rows, partition):
                yield self.shaper.cast(frame)
            return
        predicate, params = self.predicate(window)
        sql = self.relation(predicate)
        self.dialect.log(self.describe(), sql, params)
        for batch in self.stream(sql, params, batch_rows):
            if batch.num_rows:
                yield self.shaper.cast(to_frame(batch))

    def estimate_rows(self, window: Window) -> int | None:
        """The engine's own estimate of a table's rows (`row_estimate`), when the read takes
        the table whole; a query, a bounded window or an estimate the engine lacks: None."""
        asked = self.row_estimate(self.config.table) if self.config.table else None
        if asked is None or window.lower is not None:
            return None
        try:
            rows = self._fetch(*asked).to_dicts()
        except SourceError:
            return None
        count = rows[0].get("n") if rows else None
        return int(count) if isinstance(count, int | float) and count >= 0 else None

    def row_estimate(self, table: str) -> tuple[str, list[Any]] | None:
        """SQL answering `n`, the catalog's estimate of table's rows, and its parameters;
        None when the engine keeps none (a count would read the table)."""
        return None

    def schema(self) -> pl.Schema:
        sql = f"SELECT * FROM ({self.relation(self.dialect.everything)}) AS hygge_source LIMIT 0"
        return self.shaper.cast_schema(self._fetch(sql, []).schema)

    def select_list(self) -> str:
        """The columns a read names (`*` unless columns or exclude_columns narrow them),
        checked once against the source's own (see hygge.homes._shape)."""
        if not self.shaper.narrows or self._everything:
            return "*"
        if self._chosen is None:
            self._everything = True
            try:
                names = self.schema().names()
            finally:
                self._everything = False
            self._chosen = self.shaper.chosen(names)
        return ", ".join(self.dialect.quote(column) for column in self._chosen)

    def high_mark(self, column: str) -> Mark | None:
        self._require_window(column)
        name, source = self.dialect.quote(column), self.relation(self.dialect.everything)
        sql = f"SELECT max({name}) AS {name} FROM ({source}) AS hygge_source"
        return Mark.max_of(self._fetch(sql, []).to_series())

    def column_bounds(self, column: str) -> tuple[pl.DataType | None, Mark | None]:
        """Type and maximum from one query: the column's top row keeps its declared type
        (max() would lose a numeric's scale), and an index on it answers at once."""
        self._require_window(column)
        name = self.dialect.quote(column)
        more, params = self.bounds_extra(column)
        sql = (
            f"SELECT {name}{more} FROM ({self.relation(self.dialect.everything)}) AS hygge_source"
            f" WHERE {name} IS NOT NULL ORDER BY {name} DESC LIMIT 1"
        )
        try:
            top = self._fetch(sql, params)
        except SourceError:
            if column in self.schema():
                raise
            return None, None  # no such column: the caller names the ones there are
        self.bounds_seen(column, top)
        return top.schema[column], Mark.max_of(top[column])

    def bounds_extra(self, column: str) -> tuple[str, list[Any]]:
        """More for `column_bounds`' one round trip to ask: `, expression AS name`, and the
        parameters it binds; its answer goes to `bounds_seen`."""
        return "", []

    def bounds_seen(self, column: str, top: pl.DataFrame) -> None:
        """What `column_bounds`' query answered (its top row, with `bounds_extra`'s)."""

    def relation(self, predicate: str) -> str:
        """The SELECT this home reads, restricted by predicate."""
        columns = self.select_list()
        if self.config.table is not None:
            table = self.dialect.table(self.config.table)
            return f"SELECT {columns} FROM {table} WHERE {predicate}"
        query = (self.config.query or "").strip().rstrip(";").replace(WINDOW, f"({predicate})")
        return query if columns == "*" else f"SELECT {columns} FROM ({query}) AS hygge_picked"

    def predicate(self, window: Window) -> tuple[str, list[Any]]:
        """The window as SQL in this engine's dialect (no window: `everything`) with slots
        for the values to bind (a partition Range adds its own bounds after the window's,
        in text and parameter order)."""
        column, dialect = window.column, self.dialect
        params: list[Any] = []
        if column is None:
            text = dialect.everything
        else:  # NULLs are read to be counted (or, unbounded, kept)
            nullable = self.may_hold_nulls(column)
            text, params = dialect.between(column, window.lower, window.upper, nullable)
        if isinstance(window, Range):
            narrower, more = condition(dialect, window)
            text, params = f"({text}) AND {narrower}", params + more
        return text, params

    def partition(self) -> Partition | None:
        """How the table is split into parallel reads; None: one read."""
        config = self.config
        return config.partition if isinstance(config, PartitionedHomeConfig) else None

    def may_hold_nulls(self, column: str) -> bool:
        """False when the source declares column NOT NULL, so the window can leave out its
        `OR column IS NULL`; an engine whose planner gains from that says so."""
        return True

    def connection_limit(self) -> int | None:
        """How many connections this home may hold at once (its pool's size); None: any."""
        return None

    @abstractmethod
    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Run sql (slots and all: see `Dialect.finish`) with params bound; yield batches of
        at most batch_rows rows (driver errors leave as hygge errors, the connection closes
        when the generator does)."""

    @abstractmethod
    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        """Run sql with params bound and return its whole (small) result, schema included."""

    def probe_source(self) -> None:
        """Read the source's columns (no rows): a missing or misnamed table, or a partition
        column that is absent or cannot be split, raises here."""
        schema, partition = self.schema(), self.partition()
        if partition is not None:
            check_partition(self, partition, schema)

    def _fetch(self, sql: str, params: list[Any]) -> pl.DataFrame:
        self.dialect.log(self.describe(), sql, params)
        return to_frame(self.fetch(sql, params))

    def _require_window(self, column: str | None) -> None:
        problem = self.window_problem(column)
        if problem:
            raise ConfigError(problem, hint=f"put {WINDOW} into the query's WHERE clause")


def problems_of(probe: Callable[[], object]) -> list[str]:
    """check()'s answer: [] when probe runs, else the message of the hygge error it raised
    (a refused connection, retried in a run, is a problem here all the same)."""
    try:
        probe()
    except EntityError as exc:
        return [exc.message]
    return []


class ServerHomeConfig(SqlHomeConfig, DatabaseConfig):
    """A table or query on a database server, reached by `connection` or `url`."""


ServerHomeConfigT = TypeVar("ServerHomeConfigT", bound=ServerHomeConfig)


class ServerHome(SqlHome[ServerHomeConfigT]):
    """A SQL home on a database server: named in messages by its type and connection (never
    the password), checked by a round trip, as parallel as its connection pool is large."""

    trivial: ClassVar[str] = "SELECT 1"  # the cheapest query the server answers

    def origin(self) -> str | None:
        """The table read, named as its engine's store names what it writes (`Store.target`),
        so a store writing it is refused. A query may read any table: it tells nothing."""
        table, home = self.config.table, self.table_home()
        if table is None or table.count(".") > 1 or home is None:
            return None
        database, schema, folds = home
        qualified = table if "." in table else f"{schema}.{table}"
        return f"{database}#{qualified.lower() if folds else qualified}"

    def table_home(self) -> tuple[str, str, bool] | None:
        """Where an unqualified table lives: the database as `Store.database_target` gives
        it, the schema, and whether the engine compares names without case (None: unknown)."""
        return None

    def describe(self) -> str:
        return f"{self.config.type} {where(self.config)}#{self.source()}"

    def check(self) -> list[str]:
        """Connect, then ask for the source's columns (a missing table shows up here)."""
        return problems_of(self._probe)

    def connection_limit(self) -> int | None:
        return pool_limit(self.context, self.config.connection, self.config.url or "")

    def pool_needs(self) -> Mapping[str, int]:
        """One connection, or one per partition thread (see `connection_limit`)."""
        partition = self.partition()
        threads = min(partition.count, self.connection_limit() or 1) if partition else 1
        return pool_need(self.config, threads)

    def _probe(self) -> None:
        self.fetch(self.trivial, [])
        self.probe_source()


class FileDatabaseConfig(SqlHomeConfig):
    path: str
    """The database file, relative to the project folder."""


FileDatabaseConfigT = TypeVar("FileDatabaseConfigT", bound=FileDatabaseConfig)


class FileDatabaseHome(SqlHome[FileDatabaseConfigT]):
    """A SQL home on a database file, relative to the project. Reading never creates the
    file, so a missing one is a problem found before anything runs."""

    def __init__(self, config: FileDatabaseConfigT, context: Context) -> None:
        super().__init__(config, context)
        self.path = context.resolve(config.path)

    def describe(self) -> str:
        return f"{self.path}#{self.source()}"

    def origin(self) -> str:
        """The file, then the table as the file stores name it (`main` when unqualified, no
        case); a query may read any table of the file, so it is the whole file."""
        table, file = self.config.table, real_path(self.path)
        if table is None or table.count(".") > 1:
            return file
        qualified = table if "." in table else f"main.{table}"
        return f"{file}#{qualified.lower()}"

    def preflight(self) -> list[str]:
        if not Path(self.path).is_file():
            return [f"home database {self.path} does not exist"]
        return []

    def check(self) -> list[str]:
        return self.preflight() or self.probe()

    def probe(self) -> list[str]:
        """Problems opening the file and reading the source's columns (see `problems_of`)."""
        return problems_of(self.probe_source)

    def require_file(self) -> None:
        """Raise the preflight's problem: a connection must not create the file."""
        problems = self.preflight()
        if problems:
            raise SourceError(problems[0])
