"""What only the DuckDB home and store do (what every SQL engine does:
tests/test_sql_engines.py)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

import hygge
from hygge.errors import ConfigError, SourceError
from hygge.homes.duckdb import DuckDbHome
from hygge.plugin import Window
from hygge.testing import sample
from hygge.testing.contracts import assert_same_rows
from hygge.watermark import Mark
from tests import proc
from tests.conftest import EngineProject, run_ok
from tests.engines import DuckDb
from tests.test_contracts import home


@pytest.fixture
def engine() -> DuckDb:
    return DuckDb()


def test_full_drop_rerun_replaces(engine: DuckDb, project: EngineProject) -> None:
    root, table = project("run_type: full_drop\n")
    sample(30).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(3, start=100).write_parquet(root / "data/x.parquet")
    run_ok(root)
    assert_same_rows(engine.read(root, table), sample(3, start=100))


def test_entities_load_one_database_file_side_by_side(
    engine: DuckDb, project: EngineProject
) -> None:
    """Threads of one process share the file, named once at the flow level."""
    names = ["a", "b", "c", "d"]
    entities = ", ".join(names)
    root, _ = project(
        f"run_type: full_drop\nentities: [{entities}]\n",
        home='{type: parquet, path: "data/{entity}.parquet"}',
        table="{entity}",
    )
    for number, name in enumerate(names):
        sample(5 + number).write_parquet(root / f"data/{name}.parquet")
    for _ in range(2):
        result = hygge.run(root, concurrency=4)
        assert result.exit_code == 0, [(r.address, r.error) for r in result.entities]
    for number, name in enumerate(names):
        assert_same_rows(engine.read(root, name), sample(5 + number))


def test_a_reader_during_a_full_drop_publish_sees_the_old_or_the_new_table(
    project: EngineProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root, table = project("run_type: full_drop\n")
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
    seen = [count_rows(root / "warehouse.duckdb", table) for _ in range(5)]  # held before COMMIT
    marker.unlink()
    runner.join()
    assert seen == [10] * 5
    assert count_rows(root / "warehouse.duckdb", table) == 4


def count_rows(database: Path, table: str) -> int:
    """Read like any reader in this process would (DuckDB shares one instance per file)."""
    with duckdb.connect(str(database)) as con:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_a_query_without_its_window_placeholder_refuses_a_window(
    engine: DuckDb, tmp_path: Path
) -> None:
    engine.create(tmp_path, "t", sample(3))
    source = engine.home(tmp_path, query="SELECT * FROM t")
    assert isinstance(source, DuckDbHome)
    assert source.window_problem(None) is None
    assert "{window}" in (source.window_problem("id") or "")
    with pytest.raises(ConfigError, match="no \\{window\\} placeholder"):
        source.high_mark("id")
    with pytest.raises(ConfigError, match="no \\{window\\} placeholder"):
        list(source.batches(Window("id", Mark("int", 1)), 10))
    assert len(pl.concat(source.batches(Window.everything(), 10))) == 3


def test_cli_incremental_query_without_window_is_a_config_error(
    engine: DuckDb, project: EngineProject
) -> None:
    home = "{type: duckdb, path: s.duckdb, query: SELECT * FROM t}"
    root, _ = project("watermark: {column: id}\n", home=home)
    engine.create(root, "t", sample(3), file="s")
    result = proc.run(root, "go")
    assert "{window}" in result.stdout + result.stderr
    assert result.returncode == 2, result.stdout + result.stderr


def test_intervals_arrive_as_durations_and_one_with_months_is_refused(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "source.duckdb")) as con:
        con.execute("CREATE TABLE spans AS SELECT * FROM (VALUES (1, INTERVAL '2 days 3 hours'),"
                    " (2, -INTERVAL '90 seconds'), (3, NULL)) AS t(id, span)")  # fmt: skip
        con.execute("CREATE TABLE terms AS SELECT 1 AS id, INTERVAL '1 month' AS span")
    spans = home("duckdb", tmp_path, path="source.duckdb", table="spans")
    rows = pl.concat(spans.batches(Window.everything(), 10)).sort("id")
    assert rows["span"].to_list() == [timedelta(days=2, hours=3), timedelta(seconds=-90), None]
    assert spans.schema()["span"] == pl.Duration("us")
    terms = home("duckdb", tmp_path, path="source.duckdb", table="terms")
    with pytest.raises(SourceError, match="'span' holds intervals with months"):
        list(terms.batches(Window.everything(), 10))


def test_a_duration_duckdb_cannot_hold_is_named_and_changes_nothing(
    engine: DuckDb, project: EngineProject
) -> None:
    """DuckDB keeps millisecond timestamps as they are, but converts durations to intervals of
    microseconds: one that overflows failed without naming the column. The load fails at the
    batch instead, naming column and value, and the old rows stay."""
    root, table = project("run_type: full_drop\n")
    far = sample(2).with_columns(at=pl.Series([0, 2**62], dtype=pl.Int64).cast(pl.Datetime("ms")))
    far.write_parquet(root / "data/x.parquet")
    run_ok(root)
    took = pl.Series("took", [2**62, 0], pl.Int64).cast(pl.Duration("ms"))
    sample(2).with_columns(took).write_parquet(root / "data/x.parquet")
    result = hygge.run(root)
    (entity,) = result.entities
    assert result.exit_code == 1 and entity.status == "failed", entity
    assert entity.error is not None and entity.error.endswith(
        "column 'took' (Duration(time_unit='ms')) of batch 1 holds a value DuckDB refuses"
        " (row 1 of the load): too long for an interval of microseconds; the value:"
        " 4611686018427387904 ms"
    ), entity.error
    assert_same_rows(engine.read(root, table), far)
    assert engine.stages_left(root, table) == []


def test_a_table_read_whole_tells_the_row_count_duckdb_keeps(
    engine: DuckDb, tmp_path: Path
) -> None:
    """Progress's expected total, from duckdb_tables(): none for a bounded window or a query."""
    engine.create(tmp_path, "t", sample(250))
    table = engine.home(tmp_path, table="t")
    assert table.estimate_rows(Window.everything()) == 250
    assert engine.home(tmp_path, table="main.t").estimate_rows(Window.everything()) == 250
    bounded = Window("id", lower=Mark.max_of(pl.Series([100])))
    assert table.estimate_rows(bounded) is None
    assert engine.home(tmp_path, query="SELECT * FROM t").estimate_rows(Window()) is None
