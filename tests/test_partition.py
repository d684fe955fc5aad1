"""Partitioned reads of SQL homes (`partition: {column, count}`): DuckDB, PostgreSQL, MariaDB."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as dbapi
import duckdb
import polars as pl
import pytest
from pydantic import ValidationError

from hygge.errors import SourceError
from hygge.homes._partition import THREAD_NAME, split
from hygge.plugin import Context, Home, Window
from hygge.pool import Pools
from hygge.registry import home_class
from hygge.watermark import Mark
from tests import proc
from tests.engines import MySql, Postgres, table_of
from tests.test_contracts import home

Maker = Callable[[pl.DataFrame, int], Home]


def ids(values: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": values, "name": [f"n{v}" for v in values]}, schema={"id": pl.Int64, "name": pl.Utf8}
    )


CASES = {
    "nulls": ids([*range(1, 101), None, None, None]),
    "skewed": ids([*([1] * 300), 2, 3, 1_000_000, None]),
    "min_is_max": ids([7] * 50),
    "only_nulls": ids([None] * 5),
    "empty": ids([]),
    "negative": ids(list(range(-500, 500, 3))),
}


def no_partition_threads() -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not [t for t in threading.enumerate() if t.name.startswith(THREAD_NAME)]:
            return True
        time.sleep(0.05)
    return False


def read_all(source: Home, batch_rows: int = 7, window: Window | None = None) -> pl.DataFrame:
    frames = list(source.batches(window or Window.everything(), batch_rows))
    assert all(frame.height <= batch_rows for frame in frames)
    return pl.concat(frames) if frames else pl.DataFrame()


def same_rows(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    if expected.is_empty():
        assert got.height == 0
        return
    assert got.sort(pl.all(), nulls_last=True).equals(expected.sort(pl.all(), nulls_last=True))


def test_split_is_contiguous_without_gaps_or_overlaps() -> None:
    for low, high, count in ((1, 100, 4), (0, 2, 8), (5, 5, 3), (-7, 1_000_003, 64)):
        parts = split(Mark("int", low), Mark("int", high), count)
        assert parts[0][0].value == low and parts[-1][1].value == high
        assert len(parts) == min(count, high - low + 1)
        for (_, end), (start, _) in itertools.pairwise(parts):
            assert int(start.value) == int(end.value) + 1
        assert all(int(s.value) <= int(e.value) for s, e in parts)


class Engine:
    """The cases every engine passes; `make` builds a partitioned home over a frame."""

    make: Maker

    @pytest.mark.parametrize("case", sorted(CASES))
    def test_reads_exactly_the_rows(self, case: str) -> None:
        frame = CASES[case]
        same_rows(read_all(self.make(frame, 4)), frame)
        assert no_partition_threads()

    def test_window_is_applied(self) -> None:
        frame = CASES["nulls"]
        window = Window(column="id", lower=Mark("int", 10), upper=Mark("int", 30))
        got = read_all(self.make(frame, 3), window=window)
        expected = frame.filter(pl.col("id").is_between(10, 30) | pl.col("id").is_null())
        same_rows(got, expected)

    def test_early_close_stops_every_thread(self) -> None:
        frames = self.make(ids(list(range(5000))), 4).batches(Window.everything(), 10)
        assert next(frames).height == 10
        frames.close()
        assert no_partition_threads()


class TypedEngine(Engine):
    """Engines whose test tables take any frame's types."""

    def test_dates_and_datetimes_split_too(self) -> None:
        days = [date(2024, 1, 1) + timedelta(days=i * 3) for i in range(40)]
        frame = pl.DataFrame(
            {
                "id": [d if i % 7 else None for i, d in enumerate(days)],
                "at": [datetime(2024, 1, 1) + timedelta(seconds=i * 977) for i in range(40)],
            }
        )
        same_rows(read_all(self.make(frame, 5)), frame)
        by_time = self.make(frame.rename({"id": "day", "at": "id"}), 6)
        same_rows(read_all(by_time), frame.rename({"id": "day", "at": "id"}))

    def test_other_types_are_refused(self) -> None:
        frame = pl.DataFrame({"id": [1.5, 2.5]})
        with pytest.raises(SourceError, match="integer, date and datetime"):
            read_all(self.make(frame, 2))


class TestDuckDb(TypedEngine):
    @pytest.fixture(autouse=True)
    def _maker(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

        def make(frame: pl.DataFrame, count: int) -> Home:
            with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
                con.register("frame", frame.to_arrow())
                con.execute("CREATE OR REPLACE TABLE t AS SELECT * FROM frame")
            partition = {"column": "id", "count": count}
            return home("duckdb", tmp_path, path="s.duckdb", table="t", partition=partition)

        self.make = make

    def test_a_failing_range_fails_the_read(self) -> None:
        self.make(ids(list(range(1000))), 4)
        with duckdb.connect(str(self.tmp_path / "s.duckdb")) as con:
            con.execute(
                "CREATE VIEW v AS SELECT id,"
                " CASE WHEN id = 900 THEN error('boom at 900') ELSE name END AS name FROM t"
            )
        source = home(
            "duckdb",
            self.tmp_path,
            path="s.duckdb",
            table="v",
            partition={"column": "id", "count": 4},
        )
        with pytest.raises(SourceError, match="boom at 900"):
            read_all(source, 10)
        assert no_partition_threads()


class TestPostgres(TypedEngine):
    @pytest.fixture(autouse=True)
    def _maker(self, tmp_path: Path, postgres_url: str) -> None:
        self.url, self.table = postgres_url, table_of(tmp_path)
        self.tmp_path = tmp_path

        def make(frame: pl.DataFrame, count: int) -> Home:
            Postgres(self.url).create(tmp_path, self.table, frame)
            partition = {"column": "id", "count": count}
            return home("postgres", tmp_path, url=self.url, table=self.table, partition=partition)

        self.make = make

    def test_a_failing_range_fails_the_read(self) -> None:
        self.make(ids(list(range(1000))), 4)
        with dbapi.connect(self.url, autocommit=True) as con, con.cursor() as cur:
            cur.execute(
                f"CREATE VIEW {self.table}_v AS SELECT id, name, 1 / (id - 900) AS x"
                f" FROM {self.table}"
            )
        source = home(
            "postgres",
            self.tmp_path,
            url=self.url,
            table=f"{self.table}_v",
            partition={"column": "id", "count": 4},
        )
        with pytest.raises(SourceError, match="division by zero"):
            read_all(source, 10)
        assert no_partition_threads()

    def test_threads_never_exceed_the_pool(self) -> None:
        self.make(ids(list(range(2000))), 8)
        cls = home_class("postgres")
        config = cls.Config.model_validate(
            {
                "type": "postgres",
                "connection": "w",
                "url": self.url,
                "table": self.table,
                "partition": {"column": "id", "count": 8},
            }
        )
        pools = Pools({"w": 2})
        source = cls(config, Context(root=self.tmp_path, flow="f", entity="e", pools=pools))
        same_rows(read_all(source, 100), ids(list(range(2000))))
        assert pools.get("w", lambda: None).opened <= 2
        pools.close()


class TestMySql(Engine):
    @pytest.fixture(autouse=True)
    def _maker(self, tmp_path: Path, mariadb_url: str) -> None:
        def make(frame: pl.DataFrame, count: int) -> Home:
            MySql(mariadb_url).create(tmp_path, table_of(tmp_path), frame)
            partition = {"column": "id", "count": count}
            table = table_of(tmp_path)
            return home("mysql", tmp_path, url=mariadb_url, table=table, partition=partition)

        self.make = make


@pytest.mark.parametrize(
    "config",
    [
        {"query": "SELECT * FROM t WHERE {window}", "partition": {"column": "id", "count": 4}},
        {"table": "t", "partition": {"column": "id", "count": 1}},
        {"table": "t", "partition": {"column": "id", "count": 65}},
        {"table": "t", "partition": {"column": "id; DROP", "count": 4}},
    ],
)
def test_bad_partition_configs_are_refused(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        home_class("duckdb").Config.model_validate({"type": "duckdb", "path": "s.db", **config})


def test_cli_partition_with_query_is_a_config_error(make_project: Any) -> None:
    flow = (
        "home: {type: duckdb, path: s.duckdb, query: 'SELECT * FROM t',"
        " partition: {column: id, count: 4}}\n"
        "store: {type: parquet, path: out}\n"
    )
    root = make_project({"flows/x/flow.yml": flow})
    with duckdb.connect(str(root / "s.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS id")
    result = proc.run(root, "go")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "partition" in result.stdout + result.stderr


def test_a_home_without_partitioned_reads_refuses_the_key_naming_file_and_line(
    make_project: Any,
) -> None:
    """SQLite's home once accepted `partition:` and read on one connection all the same."""
    flow = (
        "store: {type: parquet, path: out}\n"
        "home: {type: sqlite, path: s.db, table: t, partition: {column: id, count: 4}}\n"
    )
    root = make_project({"flows/x/flow.yml": flow})
    sqlite3.connect(root / "s.db").execute("CREATE TABLE t (id INTEGER)").connection.close()
    result = proc.run(root, "go")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "flows/x/flow.yml:2: unknown key 'home.partition'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (root / "out").exists()
