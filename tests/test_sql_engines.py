"""What every SQL engine's home and store do, once per engine (described in tests/engines.py):
the shared contracts, exact round trips of every type the engine holds, and whole runs.

What only one engine does stays in tests/test_<engine>.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import hygge
from hygge.errors import StoreError
from hygge.plugin import Home, LoadRun, Store, Window
from hygge.testing import HomeContract, StoreContract, sample
from hygge.testing.contracts import assert_same_rows, commit_of
from hygge.watermark import Mark
from tests.conftest import EngineProject, run_ok
from tests.engines import ENGINES, Engine, engine_named, table_of
from tests.pg import PASSWORD


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> Engine:
    return engine_named(request)


class OnEngine:
    engine: Engine

    @pytest.fixture(autouse=True)
    def _engine(self, engine: Engine) -> None:
        self.engine = engine


class TestDatabaseHome(OnEngine, HomeContract):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        table = table_of(tmp_path)
        self.engine.create(tmp_path, table, frame)
        return self.engine.home(tmp_path, table=f"{self.engine.schema}.{table}")

    def make_broken_home(self, tmp_path: Path) -> Home:
        return self.engine.broken_home(tmp_path)


class TestDatabaseQueryHome(TestDatabaseHome):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        table = table_of(tmp_path)
        self.engine.create(tmp_path, table, frame)
        query = f"SELECT id, name FROM {table} WHERE {self.engine.query_filter}{{window}};"
        return self.engine.home(tmp_path, query=query)


class TestDatabaseStore(OnEngine, StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return self.engine.store(tmp_path, table_of(tmp_path))

    def make_broken_store(self, tmp_path: Path) -> Store:
        return self.engine.broken_store(tmp_path)

    def read_back(self, store: Store) -> pl.DataFrame | None:
        return self.engine.read_back(store)

    def leftovers(self, store: Store) -> list[str]:
        return self.engine.leftovers(store)

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


def test_every_type_round_trips_parquet_to_the_database_and_back(
    engine: Engine, project: EngineProject
) -> None:
    root, table = project("run_type: full_drop\n")
    frame = engine.every_type()
    frame.write_parquet(root / "data/x.parquet")
    run_ok(root)
    back = engine.home(root, "warehouse", table=table)
    assert_frame_equal(pl.concat(back.batches(Window.everything(), 2)), frame)
    assert back.schema() == frame.schema


def test_incremental_loads_rows_sharing_the_last_timestamp_once(
    engine: Engine, project: EngineProject
) -> None:
    """A home of the engine too, so the window goes down as bound parameters."""
    source = "s_" + os.urandom(6).hex()
    root, table = project("watermark: {column: ts}\n", home=engine.home_yaml(source))
    base = engine.first_stamp
    first = pl.DataFrame(
        {"id": [1, 2, 3], "ts": [base, base.replace(hour=1), base.replace(hour=1)]},
        schema={"id": pl.Int64, "ts": pl.Datetime(engine.stamp_unit)},
    )
    engine.fill(root, source, first)
    run_ok(root)
    later = pl.DataFrame(  # another row at the boundary, and a newer one
        {"id": [4, 5], "ts": [base.replace(hour=1), base.replace(hour=2)]},
        schema=first.schema,
    )
    engine.fill(root, source, pl.concat([first, later]))
    run_ok(root)
    run_ok(root)  # nothing new
    loaded = engine.read(root, table)
    assert loaded is not None and sorted(loaded["id"]) == [1, 2, 3, 4, 5]
    assert loaded.schema == first.schema


def test_merge_updates_changed_rows_and_inserts_new_ones(
    engine: Engine, project: EngineProject
) -> None:
    root, table = project("run_type: merge\nprimary_key: [id]\n")
    sample(5).write_parquet(root / "data/x.parquet")
    run_ok(root)
    changed = sample(4, start=3).with_columns(name=pl.lit("changed"))
    changed.write_parquet(root / "data/x.parquet")
    run_ok(root)
    assert_same_rows(engine.read(root, table), pl.concat([sample(3), changed]))


def test_a_row_changed_twice_between_merges_arrives_once_in_its_newest_version(
    engine: Engine, project: EngineProject
) -> None:
    root, table = project("run_type: merge\nprimary_key: [id]\nwatermark: {column: v}\n")
    changes = pl.DataFrame({"id": [1, 2, 1], "v": [1, 1, 2], "name": ["old", "b", "new"]})
    changes.write_parquet(root / "data/x.parquet")
    run_ok(root)
    more = pl.DataFrame({"id": [2, 2, 3], "v": [3, 2, 3], "name": ["b3", "b2", "c"]})
    pl.concat([changes, more]).write_parquet(root / "data/x.parquet")
    run_ok(root)
    loaded = engine.read(root, table)
    assert loaded is not None
    assert sorted(loaded.select("id", "name").rows()) == [(1, "new"), (2, "b3"), (3, "c")]


def test_a_store_table_may_name_its_schema_but_not_contradict_schema(
    engine: Engine, project: EngineProject, hygge_cli
) -> None:
    """`table: raw.orders`, as a home's may be; SQLite's one schema is `main`."""
    schema = engine.other_schema or "main"
    name = "t_" + os.urandom(6).hex()
    root, _ = project("run_type: full_drop\n", table=f"{schema}.{name}")
    sample(3).write_parquet(root / "data/x.parquet")
    run_ok(root)
    assert_same_rows(engine.read(root, name, engine.other_schema), sample(3))

    flow_file = root / "flows/x/flow.yml"
    spelled = f'"{schema}.{name}"'
    flow_file.write_text(flow_file.read_text().replace(spelled, spelled + ", schema: other"))
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2, result.output
    assert "flows/x/flow.yml:2: key 'store'" in result.stderr
    assert f"table '{schema}.{name}' names schema '{schema}', but schema is 'other'" in (
        result.stderr
    )
    if engine.other_schema is None:
        flow_file.write_text(flow_file.read_text().replace(f"{spelled}, schema: other", '"raw.t"'))
        result = hygge_cli("go", cwd=root)
        assert result.exit_code == 2, result.output
        assert "a SQLite file has one schema, 'main'" in result.stderr


@pytest.mark.parametrize("engine", ["duckdb", "sqlite", "postgres"], indirect=True)
def test_new_columns_are_added_and_a_narrower_destination_type_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    table, schema = table_of(tmp_path), engine.other_schema
    target = engine.store(tmp_path, table, schema)
    for run_id, frame in (("r1", sample(2)), ("r2", sample(2, start=5).with_columns(extra=1.5))):
        load = target.begin(LoadRun(run_id, "incremental"))
        load.write(frame)
        load.publish(commit_of(run_id))
    loaded = engine.read(tmp_path, table, schema)
    assert loaded is not None
    extra = loaded["extra"].to_list()
    if engine.keeps_row_order:
        assert extra == [None, None, 1.5, 1.5]
    else:
        assert sorted(extra, key=str) == [1.5, 1.5, None, None]
    load = target.begin(LoadRun("r3", "incremental"))
    load.write(pl.DataFrame({"id": ["text"]}))
    text, bigint = engine.text_and_bigint
    with pytest.raises(StoreError, match=f"'id' is {text} in the source but {bigint}"):
        load.publish(commit_of("r3"))
    load.abort()
    assert PASSWORD not in target.destination()
    expected = engine.destination(tmp_path, table, schema)
    assert expected is None or target.destination() == expected


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"], indirect=True)
def test_window_bounds_compare_exactly_keeping_nanoseconds_zones_and_dates(
    engine: Engine, tmp_path: Path
) -> None:
    """The engines that hold nanoseconds: bounds one row apart keep exactly the rows between."""
    stamps = [1_767_225_600_123_456_788 + n for n in range(4)]  # 2026-01-01, ns apart
    micros = [s // 1000 * 1000 + n * 1000 for n, s in enumerate(stamps)]  # a µs apart
    frame = pl.DataFrame({"ns": stamps, "tz": micros, "day": [20_000 + n for n in range(4)]})
    frame = frame.select(
        pl.col("ns").cast(pl.Datetime("ns")),
        pl.col("tz").cast(pl.Datetime("ns")).dt.cast_time_unit("us").dt.replace_time_zone("UTC"),
        pl.col("day").cast(pl.Int32).cast(pl.Date),
    )
    engine.fill(tmp_path, "t", frame)
    source = engine.home(tmp_path, table="t")
    for column in ("ns", "tz", "day"):
        values = frame[column]
        lower, upper = (Mark.max_of(values.slice(n, 1)) for n in (1, 2))
        rows = pl.concat(source.batches(Window(column, lower, upper), 10))
        assert rows[column].to_list() == values.slice(1, 2).to_list(), column
        assert source.high_mark(column) == Mark.max_of(values), column


def test_an_empty_source_does_not_empty_a_table_holding_rows(
    engine: Engine, project: EngineProject
) -> None:
    root, table = project("run_type: full_drop\n")
    sample(3).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(0).write_parquet(root / "data/x.parquet")

    refused = hygge.run(root)

    assert refused.exit_code == 1
    error = refused.entities[0].error or ""
    assert "data/x.parquet gave no rows" in error and "the 3 rows in" in error
    assert_same_rows(engine.read(root, table), sample(3))
    flow = root / "flows/x/flow.yml"
    flow.write_text(flow.read_text() + "allow_empty: true\n")
    allowed = hygge.run(root)
    assert allowed.exit_code == 0, [r.error for r in allowed.entities]
    assert_same_rows(engine.read(root, table), sample(0))
