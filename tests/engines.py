"""One adapter per SQL engine a home reads and a store writes, for the tests they share.

An adapter says how to reach the engine: the config of a home or store there, how to create a
source table from a Polars frame, how to read a table back, the YAML of a project's connection,
and where the engine differs (the types it holds exactly, the names of its types in errors).
tests/test_sql_engines.py runs the shared tests once per engine; tests/test_<engine>.py keep
what only one engine does. DuckDB and SQLite keep each database in a file under the test's
folder (`source` for homes, `warehouse` for stores); PostgreSQL and MariaDB share one server a
session (tests/pg.py, tests/mariadb.py), so their tests name tables of their own.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import adbc_driver_postgresql.dbapi as dbapi
import duckdb
import polars as pl
import pyarrow as pa
import pytest

from hygge.engines.mysql import quote
from hygge.homes.postgres import exact, exact_schema
from hygge.plugin import Home, LoadRun, Store, Window
from hygge.stores.duckdb import DuckDbStore
from hygge.stores.mysql import MySqlStore
from hygge.stores.postgres import PostgresStore
from hygge.stores.sqlite import SqliteStore
from hygge.testing.contracts import commit_of
from tests.mariadb import connect
from tests.pg import PASSWORD
from tests.test_contracts import home, store

# Every type a test may round-trip, in the order of an engine's every_type() frame.
TYPES: dict[str, tuple[pl.DataType, list[Any]]] = {
    "i8": (pl.Int8(), [-128, 127]),
    "i16": (pl.Int16(), [-32768, 32767]),
    "i32": (pl.Int32(), [-(2**31), 2**31 - 1]),
    "i64": (pl.Int64(), [-(2**63), 2**63 - 1]),
    "u8": (pl.UInt8(), [0, 255]),
    "u16": (pl.UInt16(), [0, 65535]),
    "u32": (pl.UInt32(), [0, 2**32 - 1]),
    "u64": (pl.UInt64(), [0, 2**64 - 1]),
    "f32": (pl.Float32(), [1.5, -0.25]),
    "f64": (pl.Float64(), [1e300, -2.5e-300]),
    "dec": (pl.Decimal(18, 4), [Decimal("12345678901234.5678"), Decimal("-0.0001")]),
    "text": (pl.String(), ["Åse 🦆 ß 東京", "'; DROP TABLE x; --"]),
    "flag": (pl.Boolean(), [True, False]),
    "day": (pl.Date(), [date(1, 1, 1), date(9999, 12, 31)]),
    "clock": (pl.Time(), [time(0, 0), time(23, 59, 59, 999999)]),
    "ts": (pl.Datetime("us"), [datetime(1970, 1, 1), datetime(2026, 2, 3, 4, 5, 6, 789012)]),
    "ms": (pl.Datetime("ms"), [datetime(1970, 1, 1), datetime(2026, 2, 3, 4, 5, 6, 789000)]),
    "tstz": (
        pl.Datetime("us", "UTC"),
        [datetime(2026, 1, 1, tzinfo=UTC), datetime(2000, 2, 29, 1, 2, 3, 4, tzinfo=UTC)],
    ),
    "blob": (pl.Binary(), [b"\x00\xff", b""]),
}


def over_precision() -> pl.Series:
    """`amount`, a Decimal(5,2) holding 12345.67 (and 1.00): Arrow does not check a decimal's
    precision, a database column does."""
    stored = b"".join(v.to_bytes(16, "little", signed=True) for v in (1234567, 100))
    raw = pa.Array.from_buffers(pa.decimal128(5, 2), 2, [None, pa.py_buffer(stored)])
    return pl.Series("amount", pl.from_arrow(raw))


def table_of(tmp_path: Path) -> str:
    """A table name of this test's own (server tests share one database)."""
    return "t_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]


def is_stage(name: str) -> bool:
    return name.startswith("_hygge_stage")


class Engine:
    """How the shared tests reach one engine. `root` is the test's folder (tmp_path or a
    project root): file engines keep their databases there, server engines ignore it."""

    kind: ClassVar[str]  # the home and store `type`
    schema: ClassVar[str]  # where an unqualified table is
    other_schema: ClassVar[str | None] = "raw"  # a schema a store may name; None: only one
    # every_type(): the columns of TYPES this engine holds exactly, and values of its own
    types: ClassVar[str]
    type_values: ClassVar[dict[str, list[Any]]] = {}
    # the first row of the incremental tests, and the unit of its timestamp column
    first_stamp: ClassVar[datetime] = datetime(2026, 1, 1)
    stamp_unit: ClassVar[str] = "us"
    text_and_bigint: ClassVar[tuple[str, str]]  # the names of those types in its errors
    keeps_row_order = True  # a table reads back in the order its rows were written
    query_filter = ""  # put before a query's {window}

    @classmethod
    def of(cls, name: str, fixture: Callable[[str], Any]) -> Engine:
        """The engine of that name; `fixture` (request.getfixturevalue) starts its server."""
        engine = ENGINES[name]
        if issubclass(engine, ServerEngine):
            return engine(fixture(engine.url_fixture))
        return engine()

    # configs

    def location(self, root: Path, file: str) -> dict[str, Any]:
        raise NotImplementedError

    def home(self, root: Path, file: str = "source", **config: Any) -> Home:
        return home(self.kind, root, **self.location(root, file), **config)

    def store(
        self, root: Path, table: str, schema: str | None = None, file: str = "warehouse"
    ) -> Store:
        named = {"schema": schema} if schema else {}
        return store(self.kind, root, **self.location(root, file), table=table, **named)

    def broken_home(self, tmp_path: Path) -> Home:
        """A home whose source is missing."""
        raise NotImplementedError

    def broken_store(self, tmp_path: Path) -> Store:
        """A store that cannot reach its destination."""
        raise NotImplementedError

    def destination(self, root: Path, table: str, schema: str | None) -> str | None:
        """What store(...).destination() says, where a test can know it."""
        return None

    # a project's YAML

    env: dict[str, str] = {}  # what the project's connection reads from the environment

    def hygge_yml(self, pool_size: int) -> str:
        return "name: test\n"

    def home_yaml(self, table: str) -> str:
        raise NotImplementedError

    def store_yaml(self, table: str) -> str:
        raise NotImplementedError

    # tables

    def create(self, root: Path, table: str, frame: pl.DataFrame, file: str = "source") -> None:
        """Make `table` hold exactly `frame`, a table as a user would create it."""
        raise NotImplementedError

    def fill(self, root: Path, table: str, frame: pl.DataFrame, file: str = "source") -> None:
        """Make `table` hold exactly `frame`, keeping its column types."""
        self.create(root, table, frame, file)

    def read(
        self, root: Path, table: str, schema: str | None = None, file: str = "warehouse"
    ) -> pl.DataFrame | None:
        """What a reader of the table sees; None when it does not exist."""
        raise NotImplementedError

    def read_back(self, store: Store) -> pl.DataFrame | None:
        raise NotImplementedError

    def leftovers(self, store: Store) -> list[str]:
        """The staging tables a load of `store` left behind."""
        raise NotImplementedError

    def stages_left(self, root: Path, table: str) -> list[str]:
        return self.leftovers(self.store(root, table))

    def every_type(self) -> pl.DataFrame:
        """One column per type the engine holds exactly, a NULL in every column."""
        columns = {name: TYPES[name] for name in self.types.split()}
        columns |= {name: (columns[name][0], v) for name, v in self.type_values.items()}
        return pl.DataFrame(
            {name: [*values, None] for name, (_, values) in columns.items()},
            schema={name: dtype for name, (dtype, _) in columns.items()},
        )


class FileEngine(Engine):
    """A database in a file: `{file}{suffix}` under the root."""

    suffix: ClassVar[str]

    def location(self, root: Path, file: str) -> dict[str, Any]:
        return {"path": file + self.suffix}

    def database(self, root: Path, file: str) -> Path:
        return root / (file + self.suffix)

    def broken_home(self, tmp_path: Path) -> Home:
        return self.home(tmp_path, "missing", table="orders")

    def broken_store(self, tmp_path: Path) -> Store:
        self.database(tmp_path, "warehouse").mkdir()  # a folder where the file should be
        return self.store(tmp_path, "orders")

    def home_yaml(self, table: str) -> str:
        return f"{{type: {self.kind}, path: source{self.suffix}, table: {table}}}"

    def store_yaml(self, table: str) -> str:
        return f'{{type: {self.kind}, path: warehouse{self.suffix}, table: "{table}"}}'

    def read(
        self, root: Path, table: str, schema: str | None = None, file: str = "warehouse"
    ) -> pl.DataFrame | None:
        name = f"{schema}.{table}" if schema else table
        return self.read_file(self.database(root, file), name)

    def read_file(self, database: Path, table: str) -> pl.DataFrame | None:
        raise NotImplementedError

    def read_back(self, store: Store) -> pl.DataFrame | None:
        assert isinstance(store, DuckDbStore | SqliteStore)
        return self.read_file(Path(store.path), store.config.table)

    def leftovers(self, store: Store) -> list[str]:
        assert isinstance(store, DuckDbStore | SqliteStore)
        return [name for name in self.table_names(Path(store.path)) if is_stage(name)]

    def table_names(self, database: Path) -> list[str]:
        raise NotImplementedError


class DuckDb(FileEngine):
    kind, schema, suffix = "duckdb", "main", ".duckdb"
    types = "i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 dec text flag day clock ts tstz blob"
    stamp_unit = "ns"  # its window's bounds go down as nanoseconds
    text_and_bigint = ("VARCHAR", "BIGINT")

    def destination(self, root: Path, table: str, schema: str | None) -> str | None:
        return f"duckdb://{self.database(root, 'warehouse')}#{schema or self.schema}.{table}"

    def create(self, root: Path, table: str, frame: pl.DataFrame, file: str = "source") -> None:
        with duckdb.connect(str(self.database(root, file))) as con:
            con.register("frame", frame.to_arrow())
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame")

    def read_file(self, database: Path, table: str) -> pl.DataFrame | None:
        if not database.exists():
            return None
        with duckdb.connect(str(database)) as con:
            con.execute("SET SESSION TimeZone = 'UTC'")
            schema, _, name = table.rpartition(".")
            found = con.execute(
                "SELECT 1 FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                [schema or self.schema, name],
            ).fetchall()
            if not found:
                return None
            frame = pl.from_arrow(con.sql(f"SELECT * FROM {table}").to_arrow_table())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def table_names(self, database: Path) -> list[str]:
        with duckdb.connect(str(database)) as con:
            return [row[0] for row in con.execute("SHOW TABLES").fetchall()]


class Sqlite(FileEngine):
    kind, schema, suffix = "sqlite", "main", ".db"
    other_schema = None  # a file holds one schema
    types = "i8 i16 i32 i64 u8 u64 f32 f64 dec text flag day clock ts ms tstz blob"
    type_values = {"u64": [0, 2**63 - 1]}  # the mapping keeps what a signed INTEGER holds
    text_and_bigint = ("TEXT", "INTEGER")

    def destination(self, root: Path, table: str, schema: str | None) -> str | None:
        return f"sqlite://{self.database(root, 'warehouse')}#{table}"

    def create(self, root: Path, table: str, frame: pl.DataFrame, file: str = "source") -> None:
        """Plain SQL, the way a user would: INTEGER, TEXT and REAL columns."""
        with closing(sqlite3.connect(self.database(root, file))) as con, con:
            con.execute(f"DROP TABLE IF EXISTS {table}")
            declared = {pl.Int64: "INTEGER", pl.String: "TEXT", pl.Float64: "REAL"}
            columns = ", ".join(f"{name} {declared[type(t)]}" for name, t in frame.schema.items())
            con.execute(f"CREATE TABLE {table} ({columns})")
            marks = ", ".join("?" * frame.width)
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", frame.iter_rows())

    def fill(self, root: Path, table: str, frame: pl.DataFrame, file: str = "source") -> None:
        """Through the store, whose typed columns keep datetimes datetimes."""
        run = LoadRun("fill-" + os.urandom(6).hex(), "full_drop")
        load = self.store(root, table, file=file).begin(run)
        load.write(frame)
        load.publish(commit_of(run.run_id))

    def read_file(self, database: Path, table: str) -> pl.DataFrame | None:
        """Through the sqlite home."""
        if not database.exists():
            return None
        with closing(sqlite3.connect(database)) as con, con:
            found = con.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", [table]).fetchall()
        if not found:
            return None
        reader = home("sqlite", database.parent, path=database.name, table=table)
        batches = list(reader.batches(Window.everything(), 1000))
        return pl.concat(batches) if batches else pl.DataFrame(schema=reader.schema())

    def table_names(self, database: Path) -> list[str]:
        with closing(sqlite3.connect(database)) as con, con:
            return [row[0] for row in con.execute("SELECT name FROM sqlite_schema")]


class ServerEngine(Engine):
    """A database on the session's server at `url`, reached through connection `db`."""

    variable: ClassVar[str]  # the environment variable a project's connection reads
    url_fixture: ClassVar[str]  # the session fixture of its server

    def __init__(self, url: str) -> None:
        self.url = url
        self.env = {self.variable: url}

    def location(self, root: Path, file: str) -> dict[str, Any]:
        return {"url": self.url}

    def broken_home(self, tmp_path: Path) -> Home:
        return self.home(tmp_path, table="no_such_table")

    def broken_store(self, tmp_path: Path) -> Store:
        url = self.url.replace(PASSWORD, "wrong")
        return store(self.kind, tmp_path, url=url, table=table_of(tmp_path))

    def hygge_yml(self, pool_size: int) -> str:
        url = f'"${{{self.variable}}}"'
        return (
            f"name: test\nconnections:\n"
            f"  db: {{type: {self.kind}, url: {url}, pool_size: {pool_size}}}\n"
        )

    def home_yaml(self, table: str) -> str:
        return f"{{type: {self.kind}, connection: db, table: {table}}}"

    def store_yaml(self, table: str) -> str:
        return f'{{type: {self.kind}, connection: db, table: "{table}"}}'

    def read_back(self, store: Store) -> pl.DataFrame | None:
        assert isinstance(store, PostgresStore | MySqlStore)
        return self.read(Path("."), store.config.table)

    def leftovers(self, store: Store) -> list[str]:
        assert isinstance(store, PostgresStore | MySqlStore)
        return [name for name in self.table_names() if is_stage(name) and store.is_own_stage(name)]

    def table_names(self) -> list[str]:
        raise NotImplementedError


class Postgres(ServerEngine):
    kind, schema, variable, url_fixture = "postgres", "public", "PG_URL", "postgres_url"
    types = "i16 i32 i64 f32 f64 dec text flag day clock ts tstz blob"
    type_values = {"text": ["Åse 🦆 ß 東京 \u200b", "'; DROP TABLE x; --"]}
    first_stamp = datetime(2026, 1, 1, 0, 0, 0, 1)
    text_and_bigint = ("text", "bigint")
    keeps_row_order = False

    def create(self, root: Path, table: str, frame: pl.DataFrame, file: str = "source") -> None:
        with dbapi.connect(self.url, autocommit=True) as con, con.cursor() as cur:
            cur.adbc_ingest(table, frame.to_arrow(), mode="replace")

    def read(
        self, root: Path, table: str, schema: str | None = None, file: str = "warehouse"
    ) -> pl.DataFrame | None:
        schema = schema or self.schema
        with dbapi.connect(self.url, autocommit=True) as con, con.cursor() as cur:
            cur.execute("SELECT to_regclass($1) IS NOT NULL", [f'"{schema}"."{table}"'])
            if not cur.fetchone()[0]:
                return None
            cur.execute(f'SELECT * FROM "{schema}"."{table}"')
            arrow = cur.fetch_arrow_table()
            batches = [exact(b) for b in arrow.to_batches()]
            frame = pl.from_arrow(pa.Table.from_batches(batches, exact_schema(arrow.schema)))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def table_names(self) -> list[str]:
        with dbapi.connect(self.url, autocommit=True) as con, con.cursor() as cur:
            cur.execute("SELECT table_name::text FROM information_schema.tables")
            return [row[0] for row in cur.fetchall()]


class MySql(ServerEngine):
    kind, schema, variable, url_fixture = "mysql", "hygge", "MYSQL_URL", "mariadb_url"
    types = "i8 i64 u8 u32 u64 f32 f64 dec text flag day ts blob"
    type_values = {  # what LOAD DATA's CSV must escape; DATE starts at year 1000
        "text": ['Åse 🦆 ß 東京 "q", \\n NULL', "NULL"],
        "day": [date(1000, 1, 1), date(9999, 12, 31)],
        "blob": [b'\x00\xff,"\n\\', b""],
    }
    first_stamp = datetime(2026, 1, 1, 0, 0, 0, 1)
    query_filter = "name LIKE '%' AND "  # `%` must survive the driver's parameter formatting

    def at(self, database: str | None) -> str:
        """The URL of another database on the server."""
        return self.url.rsplit("/", 1)[0] + "/" + database if database else self.url

    def create(self, root: Path, table: str, frame: pl.DataFrame, file: str = "source") -> None:
        """bigint, longtext and datetime(6) columns; DATETIME holds no zone, so a zoned column
        goes in as naive UTC."""
        declared = {pl.Int64: "bigint", pl.String: "longtext", pl.Datetime: "datetime(6)"}
        columns = [f"{quote(name)} {declared[type(t)]}" for name, t in frame.schema.items()]
        zoned = [name for name, t in frame.schema.items() if getattr(t, "time_zone", None)]
        frame = frame.with_columns(
            pl.col(zoned).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        )
        with connect(self.url) as con, con.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS `{table}`")
            cur.execute(f"CREATE TABLE `{table}` ({', '.join(columns)})")
            if frame.height:
                slots = ", ".join(["%s"] * frame.width)
                cur.executemany(f"INSERT INTO `{table}` VALUES ({slots})", list(frame.iter_rows()))

    def read(
        self, root: Path, table: str, schema: str | None = None, file: str = "warehouse"
    ) -> pl.DataFrame | None:
        """Through the mysql home."""
        url = self.at(schema)
        reader = home("mysql", Path("."), url=url, table=table)
        with connect(url) as con, con.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = %s", [table]
            )
            if not cur.fetchone()[0]:
                return None
        batches = list(reader.batches(Window.everything(), 10_000))
        return pl.concat(batches) if batches else pl.DataFrame(schema=reader.schema())

    def table_names(self) -> list[str]:
        with connect(self.url) as con, con.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables")
            return [row[0] for row in cur.fetchall()]


ENGINES: dict[str, type[Engine]] = {
    "duckdb": DuckDb,
    "sqlite": Sqlite,
    "postgres": Postgres,
    "mysql": MySql,
}


def engine_named(request: pytest.FixtureRequest) -> Engine:
    """The engine a parametrised `engine` fixture names, its server started."""
    return Engine.of(request.param, request.getfixturevalue)
