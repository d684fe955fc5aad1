"""The watermark boundary end to end: identical rows are counted, not merged, and a source
that gains or loses a column goes on loading (into DuckDB, a store that adds new columns)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import EngineProject, read_lake
from tests.engines import DuckDb

INCREMENTAL = "entities: [{name: events, watermark: {column: at}}]\n"
CSV_HOME = '{type: csv, path: "data/{entity}"}'
T = "2026-01-01T00:00:0"  # + a second: the boundary is a shared timestamp


@pytest.fixture
def engine() -> DuckDb:
    return DuckDb()


def csv(root: Path, name: str, text: str) -> None:
    folder = root / "data/events"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text.replace("@", T), encoding="utf-8")


def go(hygge_cli, root: Path) -> int:
    """One `hygge go`, which must succeed; the rows it wrote."""
    result = hygge_cli("go", "--json", cwd=root)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["entities"][0]["rows"]


def rows(frame: pl.DataFrame | None, *columns: str) -> list[tuple]:
    assert frame is not None
    return sorted(frame.select(columns).rows(), key=repr)


def test_identical_rows_at_the_boundary_all_arrive(make_project, hygge_cli) -> None:
    flow = f"home: {CSV_HOME}\nstore: {{type: parquet, path: lake}}\n{INCREMENTAL}"
    root = make_project({"flows/x/flow.yml": flow})
    csv(root, "a.csv", "at,kind,n\n@0Z,view,1\n@1Z,click,5\n@1Z,click,5\n")
    assert go(hygge_cli, root) == 3
    csv(root, "b.csv", "at,kind,n\n@1Z,click,5\n@1Z,view,2\n")  # a third click,5

    assert go(hygge_cli, root) == 2
    assert go(hygge_cli, root) == 0

    lake = read_lake(root / "lake/events")
    source = pl.read_csv(sorted((root / "data/events").glob("*.csv")), try_parse_dates=True)
    assert rows(lake, "at", "kind", "n") == rows(source, "at", "kind", "n")
    assert lake.filter(kind="click").height == 3


def test_a_column_added_to_the_source_loads_on(
    engine: DuckDb, project: EngineProject, hygge_cli
) -> None:
    root, table = project(INCREMENTAL, home=CSV_HOME)
    csv(root, "a.csv", "at,kind,n\n@0Z,click,5\n@1Z,view,1\n")
    assert go(hygge_cli, root) == 2
    # The same file, rewritten with a new column: the rows at the boundary come back with it.
    csv(root, "a.csv", "at,kind,n,note\n@0Z,click,5,\n@1Z,view,1,\n@1Z,view,2,x\n")
    assert go(hygge_cli, root) == 1
    csv(
        root,
        "a.csv",
        "at,kind,n,note\n@0Z,click,5,\n@1Z,view,1,\n@1Z,view,2,x\n@1Z,view,2,y\n@2Z,view,3,z\n",
    )
    assert go(hygge_cli, root) == 2  # (view,2,y) equals a loaded row but for the new column
    assert go(hygge_cli, root) == 0

    assert rows(engine.read(root, table), "kind", "n", "note") == [
        ("click", 5, None),
        ("view", 1, None),
        ("view", 2, "x"),
        ("view", 2, "y"),
        ("view", 3, "z"),
    ]


def test_a_column_removed_from_the_source_loads_on(
    engine: DuckDb, project: EngineProject, hygge_cli
) -> None:
    root, table = project(INCREMENTAL, home=CSV_HOME)
    csv(root, "a.csv", "at,kind,n\n@0Z,click,5\n@1Z,view,1\n@1Z,view,2\n")
    assert go(hygge_cli, root) == 3
    csv(root, "a.csv", "at,kind\n@0Z,click\n@1Z,view\n@1Z,view\n@1Z,view\n")  # n is gone
    assert go(hygge_cli, root) == 1  # two views at the boundary were loaded, one is new
    csv(root, "a.csv", "at,kind\n@0Z,click\n@1Z,view\n@1Z,view\n@1Z,view\n@2Z,view\n@2Z,buy\n")
    assert go(hygge_cli, root) == 2
    assert go(hygge_cli, root) == 0

    assert rows(engine.read(root, table), "kind", "n") == [
        ("buy", None),
        ("click", 5),
        ("view", 1),
        ("view", 2),
        ("view", None),
        ("view", None),
    ]
