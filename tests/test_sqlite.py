"""The SQLite home and store: the shared contracts, exact round trips, and whole runs."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import hygge
from hygge.errors import ConfigError, SourceError, StoreError
from hygge.plugin import Home, LoadRun, Store, Window
from hygge.stores.sqlite import SqliteStore
from hygge.testing import HomeContract, StoreContract, sample
from hygge.testing.contracts import assert_same_rows
from hygge.watermark import Mark
from tests import proc
from tests.test_contracts import home, store


def create_table(database: Path, table: str, frame: pl.DataFrame) -> None:
    """Write frame as a table the way a user would: plain SQL, INTEGER and TEXT columns."""
    with closing(sqlite3.connect(database)) as con, con:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        declared = {pl.Int64: "INTEGER", pl.String: "TEXT", pl.Float64: "REAL"}
        columns = ", ".join(f"{name} {declared[type(t)]}" for name, t in frame.schema.items())
        con.execute(f"CREATE TABLE {table} ({columns})")
        marks = ", ".join("?" * frame.width)
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", frame.iter_rows())


def read_table(database: Path, table: str) -> pl.DataFrame | None:
    """What a reader of the table sees (through the sqlite home); None when it is missing."""
    if not database.exists():
        return None
    with closing(sqlite3.connect(database)) as con, con:
        found = con.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", [table]).fetchall()
    if not found:
        return None
    reader = home("sqlite", database.parent, path=database.name, table=table)
    batches = list(reader.batches(Window.everything(), 1000))
    return pl.concat(batches) if batches else pl.DataFrame(schema=reader.schema())


def publish(target: Store, run: LoadRun, frame: pl.DataFrame) -> None:
    load = target.begin(run)
    load.write(frame)
    load.publish()


def database_of(store: Store) -> Path:
    assert isinstance(store, SqliteStore)
    return Path(store.path)


class TestSqliteHome(HomeContract):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        create_table(tmp_path / "source.db", "orders", frame)
        return home("sqlite", tmp_path, path="source.db", table="main.orders")

    def make_broken_home(self, tmp_path: Path) -> Home:
        return home("sqlite", tmp_path, path="missing.db", table="orders")


class TestSqliteQueryHome(TestSqliteHome):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        create_table(tmp_path / "source.db", "orders", frame)
        query = "SELECT id, name FROM orders WHERE {window};"
        return home("sqlite", tmp_path, path="source.db", query=query)


class TestSqliteStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return store("sqlite", tmp_path, path="warehouse.db", table="orders")

    def make_broken_store(self, tmp_path: Path) -> Store:
        (tmp_path / "warehouse.db").mkdir()  # a folder where the database file should be
        return self.make_store(tmp_path)

    def read_back(self, store: Store) -> pl.DataFrame | None:
        return read_table(database_of(store), "orders")

    def leftovers(self, store: Store) -> list[str]:
        with sqlite3.connect(database_of(store)) as con:
            names = [row[0] for row in con.execute("SELECT name FROM sqlite_schema")]
        return [name for name in names if name.startswith("_hygge_stage")]

    def test_an_empty_full_drop_publishes_an_empty_destination(self, tmp_path: Path) -> None:
        """Overridden like DuckDB's: a table needs columns, and a load that saw no frame has
        none, so the first-ever empty full_drop publishes only its commit record."""
        store = self.make_store(tmp_path)
        self.load(store, "full_drop", run_id="run-1")
        assert self.read_back(store) is None
        commit = store.last_commit()
        assert commit is not None and commit.run_id == "run-1"
        self.load(store, "full_drop", sample(10), run_id="run-2")
        self.load(store, "full_drop", run_id="run-3")
        assert_same_rows(self.read_back(store), sample(0))
        self.load(store, "full_drop", sample(0), run_id="run-4")
        assert_same_rows(self.read_back(store), sample(0))
        assert self.leftovers(store) == []


def every_type() -> pl.DataFrame:
    """One column per type the mapping keeps exactly, a NULL in every column."""
    rows: dict[str, tuple[pl.DataType, list[Any]]] = {
        "i8": (pl.Int8(), [-128, 127]),
        "i16": (pl.Int16(), [-32768, 32767]),
        "i32": (pl.Int32(), [-(2**31), 2**31 - 1]),
        "i64": (pl.Int64(), [-(2**63), 2**63 - 1]),
        "u8": (pl.UInt8(), [0, 255]),
        "u64": (pl.UInt64(), [0, 2**63 - 1]),
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
    return pl.DataFrame(
        {name: [*values, None] for name, (_, values) in rows.items()},
        schema={name: dtype for name, (dtype, _) in rows.items()},
    )


FLOW = """\
home: {type: parquet, path: data/x.parquet}
store: {type: sqlite, path: warehouse.db, table: "{entity}"}
"""


def flow_project(make_project: Any, extra: str = "", flow: str = FLOW) -> Path:
    root: Path = make_project({"flows/x/flow.yml": flow + extra})
    (root / "data").mkdir(exist_ok=True)
    return root


def run_ok(root: Path) -> None:
    result = hygge.run(root)
    assert result.exit_code == 0, [(r.address, r.error) for r in result.entities]


def test_every_type_round_trips_parquet_to_sqlite_and_back(make_project: Any) -> None:
    root = flow_project(make_project, "run_type: full_drop\n")
    frame = every_type()
    frame.write_parquet(root / "data/x.parquet")
    run_ok(root)
    back = home("sqlite", root, path="warehouse.db", table="x")
    assert_frame_equal(pl.concat(back.batches(Window.everything(), 2)), frame)
    assert back.schema() == frame.schema


def test_zoned_and_nanosecond_datetimes_round_trip_in_utc(tmp_path: Path) -> None:
    stamps = pl.Series("ns", [1_767_225_600_123_456_789, None]).cast(pl.Datetime("ns"))
    oslo = stamps.rename("oslo").dt.cast_time_unit("us").dt.replace_time_zone("Europe/Oslo")
    target = store("sqlite", tmp_path, path="w.db", table="t")
    publish(target, LoadRun("r1", "full_drop"), pl.DataFrame([stamps, oslo]))
    back = read_table(tmp_path / "w.db", "t")
    assert back is not None
    assert back["ns"].to_list() == stamps.to_list()
    assert back["oslo"].dtype == pl.Datetime("us", "UTC")
    assert back["oslo"].to_list() == oslo.dt.convert_time_zone("UTC").to_list()


def test_incremental_loads_rows_sharing_the_last_timestamp_once(make_project: Any) -> None:
    """A SQLite home too, so the window goes down as bound parameters (text timestamps)."""
    flow = FLOW.replace("parquet, path: data/x.parquet", "sqlite, path: source.db, table: x")
    root = flow_project(make_project, "watermark: {column: ts}\n", flow)
    base = datetime(2026, 1, 1)
    first = pl.DataFrame(
        {"id": [1, 2, 3], "ts": [base, base.replace(hour=1), base.replace(hour=1)]},
        schema={"id": pl.Int64, "ts": pl.Datetime("us")},
    )
    source = store("sqlite", root, path="source.db", table="x")  # typed columns
    publish(source, LoadRun("s1", "full_drop"), first)
    run_ok(root)
    later = pl.DataFrame(  # another row at the boundary, and a newer one
        {"id": [4, 5], "ts": [base.replace(hour=1), base.replace(hour=2)]}, schema=first.schema
    )
    publish(source, LoadRun("s2", "incremental"), later)
    run_ok(root)
    run_ok(root)  # nothing new
    loaded = read_table(root / "warehouse.db", "x")
    assert loaded is not None and sorted(loaded["id"]) == [1, 2, 3, 4, 5]
    assert loaded.schema == first.schema


def test_merge_updates_changed_rows_and_inserts_new_ones(make_project: Any) -> None:
    root = flow_project(make_project, "run_type: merge\nprimary_key: [id]\n")
    sample(5).write_parquet(root / "data/x.parquet")
    run_ok(root)
    changed = sample(4, start=3).with_columns(name=pl.lit("changed"))
    changed.write_parquet(root / "data/x.parquet")
    run_ok(root)
    loaded = read_table(root / "warehouse.db", "x")
    assert_same_rows(loaded, pl.concat([sample(3), changed]))


def test_merge_matches_null_keys_and_needs_its_key_columns(tmp_path: Path) -> None:
    target = store("sqlite", tmp_path, path="w.db", table="t")
    rows = pl.DataFrame({"id": [1, None], "v": ["a", "b"]})
    for run_id, frame in (("r1", rows), ("r2", rows.with_columns(v=pl.lit("new")))):
        publish(target, LoadRun(run_id, "merge", ("id",)), frame)
    assert_same_rows(read_table(tmp_path / "w.db", "t"), rows.with_columns(v=pl.lit("new")))
    load = target.begin(LoadRun("r3", "merge", ("key",)))
    load.write(rows)
    with pytest.raises(StoreError, match="primary key column"):
        load.publish()
    load.abort()


def test_a_reader_in_another_process_during_a_full_drop_publish_sees_old_or_new(
    make_project: Any, tmp_path: Path
) -> None:
    """The run is a real process held before its COMMIT with the write lock taken; this
    process reads the WAL database meanwhile and sees only the old rows."""
    root = flow_project(make_project, "run_type: full_drop\n")
    sample(10).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(4).write_parquet(root / "data/x.parquet")
    marker = tmp_path / "paused"
    runner = proc.start_paused(root, marker, "go", point="sql_before_commit")
    try:
        seen = [count_rows(root / "warehouse.db") for _ in range(5)]
    finally:
        marker.unlink()
    status, out, err = proc.finish(runner)
    assert status == 0, out + err
    assert seen == [10] * 5
    assert count_rows(root / "warehouse.db") == 4


def count_rows(database: Path) -> int:
    with closing(sqlite3.connect(database, timeout=1)) as con, con:
        return int(con.execute("SELECT count(*) FROM x").fetchone()[0])


def test_datetime_and_date_window_bounds_compare_exactly(tmp_path: Path) -> None:
    stamps = [1_767_225_600_123_456_788 + n for n in range(4)]  # 2026-01-01, ns apart
    frame = pl.DataFrame({"ns": stamps, "day": [20_000 + n for n in range(4)]}).select(
        pl.col("ns").cast(pl.Datetime("ns")), pl.col("day").cast(pl.Int32).cast(pl.Date)
    )
    target = store("sqlite", tmp_path, path="source.db", table="t")
    publish(target, LoadRun("r1", "full_drop"), frame)
    source = home("sqlite", tmp_path, path="source.db", table="t")
    for column in ("ns", "day"):
        values = frame[column]
        lower, upper = (Mark.max_of(values.slice(n, 1)) for n in (1, 2))
        rows = pl.concat(source.batches(Window(column, lower, upper), 10))
        assert rows[column].to_list() == values.slice(1, 2).to_list(), column
        assert source.high_mark(column) == Mark.max_of(values)


def test_a_query_refuses_a_window_without_its_placeholder_and_types_by_values(
    tmp_path: Path,
) -> None:
    create_table(tmp_path / "source.db", "t", sample(3))
    source = home("sqlite", tmp_path, path="source.db", query="SELECT *, id * 2 AS twice FROM t")
    assert source.window_problem(None) is None
    assert "{window}" in (source.window_problem("id") or "")
    with pytest.raises(ConfigError, match="no \\{window\\} placeholder"):
        source.high_mark("id")
    rows = pl.concat(source.batches(Window.everything(), 10))
    assert rows["twice"].to_list() == [0, 2, 4]  # undeclared: typed by its values
    assert source.schema()["twice"] == pl.Int64
    with closing(sqlite3.connect(tmp_path / "source.db")) as con, con:
        con.execute("INSERT INTO t VALUES (3, 'a text id'), ('not a number', 'x')")
    with pytest.raises(SourceError, match="does not fit its column's declared type"):
        list(source.batches(Window.everything(), 10))


def test_new_columns_are_added_and_a_narrower_destination_type_is_refused(tmp_path: Path) -> None:
    target = store("sqlite", tmp_path, path="w.db", table="t")
    for run_id, frame in (("r1", sample(2)), ("r2", sample(2, start=5).with_columns(extra=1.5))):
        publish(target, LoadRun(run_id, "incremental"), frame)
    loaded = read_table(tmp_path / "w.db", "t")
    assert loaded is not None and loaded["extra"].to_list() == [None, None, 1.5, 1.5]
    load = target.begin(LoadRun("r3", "incremental"))
    load.write(pl.DataFrame({"id": ["text"]}))
    with pytest.raises(StoreError, match="'id' is TEXT in the source but INTEGER"):
        load.publish()
    load.abort()
    assert target.destination() == f"sqlite://{tmp_path}/w.db#t"
    with pytest.raises(ValueError, match="one schema"):
        store("sqlite", tmp_path, path="w.db", table="t", schema="raw")
