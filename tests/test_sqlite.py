"""What only the SQLite home and store do (what every SQL engine does:
tests/test_sql_engines.py)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest

from hygge.errors import ConfigError, SourceError, StoreError
from hygge.plugin import LoadRun, Store, Window
from hygge.testing import sample
from hygge.testing.contracts import assert_same_rows, commit_of
from tests import proc
from tests.conftest import EngineProject, run_ok
from tests.engines import Sqlite


@pytest.fixture
def engine() -> Sqlite:
    return Sqlite()


def publish(target: Store, run: LoadRun, frame: pl.DataFrame) -> None:
    load = target.begin(run)
    load.write(frame)
    load.publish(commit_of(run.run_id))


def test_zoned_and_nanosecond_datetimes_round_trip_in_utc(engine: Sqlite, tmp_path: Path) -> None:
    stamps = pl.Series("ns", [1_767_225_600_123_456_789, None]).cast(pl.Datetime("ns"))
    oslo = stamps.rename("oslo").dt.cast_time_unit("us").dt.replace_time_zone("Europe/Oslo")
    target = engine.store(tmp_path, "t")
    publish(target, LoadRun("r1", "full_drop"), pl.DataFrame([stamps, oslo]))
    back = engine.read(tmp_path, "t")
    assert back is not None
    assert back["ns"].to_list() == stamps.to_list()
    assert back["oslo"].dtype == pl.Datetime("us", "UTC")
    assert back["oslo"].to_list() == oslo.dt.convert_time_zone("UTC").to_list()


def test_merge_matches_null_keys_and_needs_its_key_columns(engine: Sqlite, tmp_path: Path) -> None:
    target = engine.store(tmp_path, "t")
    rows = pl.DataFrame({"id": [1, None], "v": ["a", "b"]})
    for run_id, frame in (("r1", rows), ("r2", rows.with_columns(v=pl.lit("new")))):
        publish(target, LoadRun(run_id, "merge", ("id",)), frame)
    assert_same_rows(engine.read(tmp_path, "t"), rows.with_columns(v=pl.lit("new")))
    load = target.begin(LoadRun("r3", "merge", ("key",)))
    load.write(rows)
    with pytest.raises(StoreError, match="primary key column"):
        load.publish(commit_of("r3"))
    load.abort()


def test_a_reader_in_another_process_during_a_full_drop_publish_sees_old_or_new(
    project: EngineProject, tmp_path: Path
) -> None:
    """The run is a real process held before its COMMIT with the write lock taken; this
    process reads the WAL database meanwhile and sees only the old rows."""
    root, table = project("run_type: full_drop\n")
    sample(10).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(4).write_parquet(root / "data/x.parquet")
    marker = tmp_path / "paused"
    runner = proc.start_paused(root, marker, "go", point="sql_before_commit")
    try:
        seen = [count_rows(root / "warehouse.db", table) for _ in range(5)]
    finally:
        marker.unlink()
    status, out, err = proc.finish(runner)
    assert status == 0, out + err
    assert seen == [10] * 5
    assert count_rows(root / "warehouse.db", table) == 4


def count_rows(database: Path, table: str) -> int:
    with closing(sqlite3.connect(database, timeout=1)) as con, con:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_query_refuses_a_window_without_its_placeholder_and_types_by_values(
    engine: Sqlite, tmp_path: Path
) -> None:
    engine.create(tmp_path, "t", sample(3))
    source = engine.home(tmp_path, query="SELECT *, id * 2 AS twice FROM t")
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


def test_a_store_refuses_a_schema_since_the_file_is_one(engine: Sqlite, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one schema"):
        engine.store(tmp_path, "t", schema="raw")


def test_an_empty_copy_into_a_table_named_in_another_case_is_still_refused(
    engine: Sqlite, tmp_path: Path
) -> None:
    """SQLite finds `Orders` as `orders`; the empty-source guard must count those rows too."""
    publish(engine.store(tmp_path, "orders"), LoadRun("r1", "full_drop"), sample(3))
    assert engine.store(tmp_path, "Orders").row_count() == 3
