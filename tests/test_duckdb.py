"""The DuckDB home and store: the shared contracts, exact round trips, and whole runs."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import hygge
from hygge.errors import ConfigError, StoreError
from hygge.homes.duckdb import DuckDbHome
from hygge.plugin import Home, LoadRun, Store, Window
from hygge.stores.duckdb import DuckDbStore
from hygge.testing import HomeContract, StoreContract, sample
from hygge.testing.contracts import assert_same_rows
from hygge.watermark import Mark
from tests import proc
from tests.test_contracts import home, store


def create_table(database: Path, table: str, frame: pl.DataFrame) -> None:
    with duckdb.connect(str(database)) as con:
        con.register("frame", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame")


def read_table(database: Path, table: str) -> pl.DataFrame | None:
    """What a reader of the table sees; None when the table does not exist."""
    if not database.exists():
        return None
    with duckdb.connect(str(database)) as con:
        con.execute("SET SESSION TimeZone = 'UTC'")
        schema, _, name = table.rpartition(".")
        found = con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
            [schema or "main", name],
        ).fetchall()
        if not found:
            return None
        frame = pl.from_arrow(con.sql(f"SELECT * FROM {table}").to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def database_of(store: Store) -> Path:
    assert isinstance(store, DuckDbStore)
    return Path(store.path)


class TestDuckDbHome(HomeContract):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        create_table(tmp_path / "source.duckdb", "orders", frame)
        return home("duckdb", tmp_path, path="source.duckdb", table="main.orders")

    def make_broken_home(self, tmp_path: Path) -> Home:
        return home("duckdb", tmp_path, path="missing.duckdb", table="orders")


class TestDuckDbQueryHome(TestDuckDbHome):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        create_table(tmp_path / "source.duckdb", "orders", frame)
        query = "SELECT id, name FROM orders WHERE {window};"
        return home("duckdb", tmp_path, path="source.duckdb", query=query)


class TestDuckDbStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return store("duckdb", tmp_path, path="warehouse.duckdb", table="orders")

    def make_broken_store(self, tmp_path: Path) -> Store:
        (tmp_path / "warehouse.duckdb").mkdir()  # a folder where the database file should be
        return self.make_store(tmp_path)

    def read_back(self, store: Store) -> pl.DataFrame | None:
        return read_table(database_of(store), "orders")

    def leftovers(self, store: Store) -> list[str]:
        with duckdb.connect(str(database_of(store))) as con:
            names = [row[0] for row in con.execute("SHOW TABLES").fetchall()]
        return [name for name in names if name.startswith("_hygge_stage")]

    def test_an_empty_full_drop_publishes_an_empty_destination(self, tmp_path: Path) -> None:
        """Overridden: a table needs columns, and a load that saw no frame has none, so the
        first-ever empty full_drop publishes only its commit record. Later empty ones empty
        the table and keep its columns."""
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
    """One column per type DuckDB holds exactly, a NULL in every column."""
    rows: dict[str, tuple[pl.DataType, list[Any]]] = {
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
store: {type: duckdb, path: warehouse.duckdb, table: "{entity}"}
"""


def flow_project(make_project: Any, extra: str = "", flow: str = FLOW) -> Path:
    root: Path = make_project({"flows/x/flow.yml": flow + extra})
    (root / "data").mkdir(exist_ok=True)
    return root


def run_ok(root: Path) -> None:
    result = hygge.run(root)
    assert result.exit_code == 0, [(r.address, r.error) for r in result.entities]


def test_every_type_round_trips_parquet_to_duckdb_and_back(make_project: Any) -> None:
    root = flow_project(make_project, "run_type: full_drop\n")
    frame = every_type()
    frame.write_parquet(root / "data/x.parquet")
    run_ok(root)
    back = home("duckdb", root, path="warehouse.duckdb", table="x")
    assert_frame_equal(pl.concat(back.batches(Window.everything(), 2)), frame)
    assert back.schema() == frame.schema


def test_full_drop_rerun_replaces(make_project: Any) -> None:
    root = flow_project(make_project, "run_type: full_drop\n")
    sample(30).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(3, start=100).write_parquet(root / "data/x.parquet")
    run_ok(root)
    assert_same_rows(read_table(root / "warehouse.duckdb", "x"), sample(3, start=100))


def test_incremental_loads_rows_sharing_the_last_timestamp_once(make_project: Any) -> None:
    """A DuckDB home too, so the window goes down as bound parameters (nanoseconds)."""
    flow = FLOW.replace("parquet, path: data/x.parquet", "duckdb, path: source.duckdb, table: x")
    root = flow_project(make_project, "watermark: {column: ts}\n", flow)
    base = datetime(2026, 1, 1)
    first = pl.DataFrame(
        {"id": [1, 2, 3], "ts": [base, base.replace(hour=1), base.replace(hour=1)]},
        schema={"id": pl.Int64, "ts": pl.Datetime("ns")},
    )
    create_table(root / "source.duckdb", "x", first)
    run_ok(root)
    later = pl.DataFrame(  # another row at the boundary, and a newer one
        {"id": [4, 5], "ts": [base.replace(hour=1), base.replace(hour=2)]}, schema=first.schema
    )
    create_table(root / "source.duckdb", "x", pl.concat([first, later]))
    run_ok(root)
    run_ok(root)  # nothing new
    loaded = read_table(root / "warehouse.duckdb", "x")
    assert loaded is not None and sorted(loaded["id"]) == [1, 2, 3, 4, 5]


def test_merge_updates_changed_rows_and_inserts_new_ones(make_project: Any) -> None:
    root = flow_project(make_project, "run_type: merge\nprimary_key: [id]\n")
    sample(5).write_parquet(root / "data/x.parquet")
    run_ok(root)
    changed = sample(4, start=3).with_columns(name=pl.lit("changed"))
    changed.write_parquet(root / "data/x.parquet")
    run_ok(root)
    loaded = read_table(root / "warehouse.duckdb", "x")
    assert_same_rows(loaded, pl.concat([sample(3), changed]))


def test_entities_load_one_database_file_side_by_side(make_project: Any) -> None:
    """Threads of one process share the file, named once at the flow level."""
    names = ["a", "b", "c", "d"]
    entities = ", ".join(names)
    flow = FLOW.replace("data/x.parquet", '"data/{entity}.parquet"')
    root = flow_project(make_project, f"run_type: full_drop\nentities: [{entities}]\n", flow)
    for number, name in enumerate(names):
        sample(5 + number).write_parquet(root / f"data/{name}.parquet")
    for _ in range(2):
        result = hygge.run(root, concurrency=4)
        assert result.exit_code == 0, [(r.address, r.error) for r in result.entities]
    for number, name in enumerate(names):
        assert_same_rows(read_table(root / "warehouse.duckdb", name), sample(5 + number))


def test_a_reader_during_a_full_drop_publish_sees_the_old_or_the_new_table(
    make_project: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = flow_project(make_project, "run_type: full_drop\n")
    sample(10).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(4).write_parquet(root / "data/x.parquet")
    marker = tmp_path / "paused"
    monkeypatch.setenv("HYGGE_FAILPOINT", "sql_before_commit:pause")
    monkeypatch.setenv("HYGGE_FAILPOINT_FILE", str(marker))
    runner = threading.Thread(target=run_ok, args=(root,))
    runner.start()
    while not marker.exists():
        assert runner.is_alive(), "the run ended without reaching its publish"
        runner.join(0.01)
    seen = [count_rows(root / "warehouse.duckdb") for _ in range(5)]  # held before COMMIT
    marker.unlink()
    runner.join()
    assert seen == [10] * 5
    assert count_rows(root / "warehouse.duckdb") == 4


def count_rows(database: Path) -> int:
    """Read like any reader in this process would (DuckDB shares one instance per file)."""
    with duckdb.connect(str(database)) as con:
        row = con.execute("SELECT count(*) FROM x").fetchone()
    assert row is not None
    return int(row[0])


def test_datetime_window_bounds_keep_nanoseconds_and_zones(tmp_path: Path) -> None:
    stamps = [1_767_225_600_123_456_788 + n for n in range(4)]  # 2026-01-01, ns apart
    micros = [s // 1000 * 1000 + n * 1000 for n, s in enumerate(stamps)]  # a µs apart
    frame = pl.DataFrame({"ns": stamps, "tz": micros})
    frame = frame.select(
        pl.col("ns").cast(pl.Datetime("ns")),
        pl.col("tz").cast(pl.Datetime("ns")).dt.cast_time_unit("us").dt.replace_time_zone("UTC"),
    )
    create_table(tmp_path / "source.duckdb", "t", frame)
    source = home("duckdb", tmp_path, path="source.duckdb", table="t")
    for column in ("ns", "tz"):
        values = frame[column]
        lower, upper = (Mark.max_of(values.slice(n, 1)) for n in (1, 2))
        rows = pl.concat(source.batches(Window(column, lower, upper), 10))
        assert rows[column].to_list() == values.slice(1, 2).to_list(), column


def test_a_query_without_its_window_placeholder_refuses_a_window(tmp_path: Path) -> None:
    create_table(tmp_path / "source.duckdb", "t", sample(3))
    source = home("duckdb", tmp_path, path="source.duckdb", query="SELECT * FROM t")
    assert isinstance(source, DuckDbHome)
    assert source.window_problem(None) is None
    assert "{window}" in (source.window_problem("id") or "")
    with pytest.raises(ConfigError, match="no \\{window\\} placeholder"):
        source.high_mark("id")
    with pytest.raises(ConfigError, match="no \\{window\\} placeholder"):
        list(source.batches(Window("id", Mark("int", 1)), 10))
    assert len(pl.concat(source.batches(Window.everything(), 10))) == 3


def test_cli_incremental_query_without_window_is_a_config_error(make_project: Any) -> None:
    flow = FLOW.replace(
        "parquet, path: data/x.parquet", "duckdb, path: s.duckdb, query: SELECT * FROM t"
    )
    root = flow_project(make_project, "watermark: {column: id}\n", flow)
    create_table(root / "s.duckdb", "t", sample(3))
    result = proc.run(root, "go")
    assert "{window}" in result.stdout + result.stderr
    assert result.returncode == 2, result.stdout + result.stderr


def test_new_columns_are_added_and_a_narrower_destination_type_is_refused(tmp_path: Path) -> None:
    target = store("duckdb", tmp_path, path="w.duckdb", table="t", schema="raw")
    for run_id, frame in (("r1", sample(2)), ("r2", sample(2, start=5).with_columns(extra=1.5))):
        load = target.begin(LoadRun(run_id, "incremental"))
        load.write(frame)
        load.publish()
    loaded = read_table(tmp_path / "w.duckdb", "raw.t")
    assert loaded is not None and loaded["extra"].to_list() == [None, None, 1.5, 1.5]
    load = target.begin(LoadRun("r3", "incremental"))
    load.write(pl.DataFrame({"id": ["text"]}))
    with pytest.raises(StoreError, match="'id' is VARCHAR in the source but BIGINT"):
        load.publish()
    load.abort()
    assert target.destination() == f"duckdb://{tmp_path}/w.duckdb#raw.t"
