"""What a run tells about its destination's columns and about appends that duplicate rows:
columns a database store adds are reported (summary, --json, the journal's history), an
incremental entity with a primary_key is warned in its plan, and an incremental run that
starts without a committed watermark over rows hygge loaded before says it doubled them.

On real engines (tests/engines.py); the file stores' schema rule is in test_file_schema.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from hygge.testing import sample
from tests.conftest import EngineProject
from tests.engines import ENGINES, Engine, engine_named

BIGINT = {"duckdb": "BIGINT", "postgres": "bigint"}
FLOAT = {"duckdb": "DOUBLE", "sqlite": "REAL", "postgres": "double precision", "mysql": "double"}
LANDING = "{type: parquet, path: land, new_files_only: true}"  # incremental: new files only
APPENDS = "primary_key (id) is declared but run type incremental appends"
TWICE = "those rows are now there twice"


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> Engine:
    return engine_named(request)


def go(hygge_cli, root: Path, *args: str) -> dict:
    """`hygge go --json ARGS`, which must succeed; its summary's one entity."""
    result = hygge_cli("go", "--json", *args, cwd=root)
    assert result.exit_code == 0, result.output
    (entity,) = json.loads(result.stdout)["entities"]
    return entity


def test_a_new_source_column_is_added_and_reported_in_summary_json_and_history(
    engine: Engine, project: EngineProject, hygge_cli
) -> None:
    root, table = project("", home=LANDING)
    (root / "land").mkdir()
    sample(3).write_parquet(root / "land/1.parquet")
    assert go(hygge_cli, root)["schema_changes"] == []
    sample(2, start=3).with_columns(extra=pl.lit(1.5)).write_parquet(root / "land/2.parquet")

    second = hygge_cli("go", cwd=root)

    assert second.exit_code == 0, second.output
    assert f"x.x added column 'extra' ({FLOAT[engine.kind]})" in second.stdout
    loaded = engine.read(root, table)
    assert loaded is not None and loaded.height == 5
    assert sorted(loaded["extra"].to_list(), key=str) == [1.5, 1.5, None, None, None]
    history = hygge_cli("history", "--json", cwd=root)
    newest, oldest = json.loads(history.stdout)
    assert newest["schema_changes"] == [
        {"action": "added", "column": "extra", "type": FLOAT[engine.kind]}
    ]
    assert oldest["schema_changes"] == []
    assert "extra " + FLOAT[engine.kind] in hygge_cli("history", cwd=root).stdout

    sample(1, start=5).with_columns(extra=pl.lit(1.5), more=pl.lit(2.5)).write_parquet(
        root / "land/3.parquet"
    )
    third = go(hygge_cli, root)
    assert third["schema_changes"] == [
        {"action": "added", "column": "more", "type": FLOAT[engine.kind]}
    ]
    assert go(hygge_cli, root)["schema_changes"] == []  # nothing new: nothing changed


@pytest.mark.parametrize("engine", ["duckdb", "postgres"], indirect=True)
def test_an_incremental_entity_with_a_primary_key_is_warned_in_the_plan_and_the_summary(
    engine: Engine, project: EngineProject, hygge_cli
) -> None:
    root, table = project("primary_key: [id]\nwatermark: {column: id}\n")
    sample(3).write_parquet(root / "data/x.parquet")

    dry = hygge_cli("go", "--dry-run", cwd=root)
    assert dry.exit_code == 0, dry.output
    assert f"x.x {APPENDS}" in dry.stdout and "use run_type: merge" in dry.stdout
    planned = json.loads(hygge_cli("go", "--dry-run", "--json", cwd=root).stdout)
    (warning,) = planned["entities"][0]["warnings"]
    assert APPENDS in warning
    assert engine.read(root, table) is None  # a dry run wrote nothing

    run = hygge_cli("go", cwd=root)
    assert run.exit_code == 0, run.output
    assert f"x.x {APPENDS}" in run.stdout
    (warning,) = go(hygge_cli, root)["warnings"]
    assert APPENDS in warning

    merged = hygge_cli("go", "--dry-run", "--json", "--entity", "x.x:m", cwd=root)
    assert json.loads(merged.stdout)["entities"][0]["warnings"] == []


def test_a_file_store_names_its_own_way_out(make_project, hygge_cli) -> None:
    flow = (
        "home: {type: parquet, path: data/x.parquet}\nstore: {type: parquet, path: lake}\n"
        "primary_key: [id]\nwatermark: {column: id}\n"
    )
    root = make_project({"flows/x/flow.yml": flow})
    (root / "data").mkdir()
    sample(3).write_parquet(root / "data/x.parquet")
    dry = hygge_cli("go", "--dry-run", cwd=root)
    assert dry.exit_code == 0, dry.output
    assert APPENDS in dry.stdout and "a parquet store cannot merge" in dry.stdout
    assert "remove primary_key if repeated keys are intended" in dry.stdout


@pytest.mark.parametrize("engine", ["duckdb", "postgres"], indirect=True)
def test_switching_from_full_drop_to_incremental_without_a_watermark_says_it_doubled_rows(
    engine: Engine, project: EngineProject, hygge_cli
) -> None:
    """The run of the report: a full copy with no watermark commits none, so the first
    incremental run reads everything again and appends it (the destination holds every row
    twice). It cannot be seen in a plan; the run says so, and names the way back."""
    root, table = project("run_type: full_drop\n")
    sample(4).write_parquet(root / "data/x.parquet")
    assert go(hygge_cli, root)["warnings"] == []
    flow = root / "flows/x/flow.yml"
    flow.write_text(flow.read_text().replace("run_type: full_drop", "watermark: {column: id}"))

    doubled = go(hygge_cli, root)

    assert doubled["run_type"] == "incremental"
    (warning,) = doubled["warnings"]
    assert TWICE in warning and "--entity x.x:d" in warning
    loaded = engine.read(root, table)
    assert loaded is not None and loaded.height == 8
    assert go(hygge_cli, root, "--entity", "x.x:d")["rows"] == 4
    sample(6).write_parquet(root / "data/x.parquet")
    again = go(hygge_cli, root)  # the full copy committed the watermark: no warning now
    assert (again["rows"], again["warnings"]) == (2, [])
    loaded = engine.read(root, table)
    assert loaded is not None and sorted(loaded["id"]) == list(range(6))


@pytest.mark.parametrize("engine", ["duckdb", "postgres"], indirect=True)
def test_integers_that_would_round_in_a_float_column_are_refused(
    engine: Engine, project: EngineProject, hygge_cli
) -> None:
    """DuckDB and PostgreSQL cast BIGINT to DOUBLE implicitly, rounding past 2**53: a source
    column turned integer must not land in a float column that way. A narrow integer fits.
    (The SQLite and MySQL stores refuse any integer into a float column.)"""
    root, table = project("", home=LANDING)
    (root / "land").mkdir()
    pl.DataFrame({"id": [1], "v": [0.5]}).write_parquet(root / "land/1.parquet")
    go(hygge_cli, root)
    pl.DataFrame({"id": [2], "v": pl.Series([7], dtype=pl.Int16)}).write_parquet(
        root / "land/2.parquet"
    )
    go(hygge_cli, root)
    pl.DataFrame({"id": [3], "v": [2**53 + 1]}).write_parquet(root / "land/3.parquet")

    refused = hygge_cli("go", "--json", cwd=root)

    assert refused.exit_code == 1, refused.output
    (entity,) = json.loads(refused.stdout)["entities"]
    assert f"column 'v' is {BIGINT[engine.kind]} in the source but" in entity["error"]
    loaded = engine.read(root, table)
    assert loaded is not None and sorted(loaded["v"]) == [0.5, 7.0]
