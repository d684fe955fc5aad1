"""`hygge schema` beside an existing destination: each column's type there and what a load
does with it, as the real run then does; reading it writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import ProjectMaker, lake_snapshot
from tests.engines import Engine, Postgres, engine_named, table_of
from tests.pg import PASSWORD


def flow(store: str) -> str:
    return (
        f"home: {{type: parquet, path: data}}\nstore: {store}\n"
        "run_type: incremental\nwatermark: {column: id}\n"
    )


FIRST = pl.DataFrame({"id": [1, 2], "amount": [1.5, 2.5], "note": ["a", "b"]})
# id narrower (converted), amount text (refused), note gone (kept), extra new (added)
SECOND = pl.DataFrame(
    {"id": [3], "amount": ["3.5"], "extra": [7]}, schema_overrides={"id": pl.Int32}
)


def write_source(root: Path, frame: pl.DataFrame) -> None:
    (root / "data").mkdir(exist_ok=True)
    frame.write_parquet(root / "data/a.parquet")


@pytest.mark.parametrize("kind", ["parquet", "delta"])
def test_a_folder_or_delta_table_shows_its_types_and_what_a_load_does(
    kind: str, make_project: ProjectMaker, hygge_cli
) -> None:
    root = make_project({"flows/shop/flow.yml": flow(f"{{type: {kind}, path: lake}}")})
    write_source(root, FIRST)
    assert hygge_cli("go", cwd=root).exit_code == 0
    write_source(root, SECOND)
    before = lake_snapshot(root)

    shown = hygge_cli("schema", "shop.shop", cwd=root)

    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines() == [
        f"into {root / 'lake'}:",
        "id                     int32   int64    type differs: converted",
        "amount                 string  float64  type differs: will fail",
        "extra                  int64   -        new: added",
        "(store only)  -> note  -       string   kept, filled with nulls",
    ]
    assert all(len(line) <= 80 for line in shown.stdout.splitlines()[1:])
    as_json = json.loads(hygge_cli("schema", "--json", "shop.shop", cwd=root).stdout)
    assert as_json["exists"] is True
    assert as_json["columns"][1]["verdict"] == "type differs: will fail"
    assert lake_snapshot(root) == before
    ran = hygge_cli("go", cwd=root)
    assert ran.exit_code == 1 and "column 'amount' is String" in ran.output


@pytest.fixture(params=["sqlite", "duckdb", "postgres", "mysql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return engine_named(request)


# The destination's type names of FIRST's columns.
TYPES = {
    "sqlite": ("INTEGER", "REAL", "TEXT"),
    "duckdb": ("BIGINT", "DOUBLE", "VARCHAR"),
    "postgres": ("bigint", "double precision", "text"),
    "mysql": ("bigint", "double", "longtext"),
}


def test_a_database_table_shows_its_types_and_what_a_load_does(
    engine: Engine,
    make_project: ProjectMaker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    hygge_cli,
) -> None:
    for name, value in engine.env.items():
        monkeypatch.setenv(name, value)
    table = table_of(tmp_path)
    flows = {"flows/shop/flow.yml": flow(engine.store_yaml(table))}
    root = make_project({"hygge.yml": engine.hygge_yml(2), **flows})
    write_source(root, FIRST)

    absent = hygge_cli("schema", "shop.shop", cwd=root)

    assert absent.exit_code == 0, absent.output
    assert absent.stdout.splitlines()[0].endswith(": not there yet, every column is new")
    assert not list(root.glob("warehouse.*"))  # looking made no database file
    assert hygge_cli("go", cwd=root).exit_code == 0
    write_source(root, SECOND)

    shown = hygge_cli("schema", "--json", "shop.shop", cwd=root)

    big, double, text = TYPES[engine.kind]
    landed = json.loads(shown.stdout)
    assert landed["exists"] is True
    assert [(c["destination"], c["store_type"], c["verdict"]) for c in landed["columns"]] == [
        ("id", big, "type differs: converted"),
        ("amount", double, "type differs: will fail"),
        ("extra", None, "new: added"),
        ("note", text, "kept, filled with nulls"),
    ]
    ran = hygge_cli("go", cwd=root)
    assert ran.exit_code == 1 and "column 'amount' is" in ran.output
    after = engine.read(root, table)  # the refused load changed nothing
    assert after is not None and after.height == 2


def test_a_full_drop_replaces_what_differs(make_project: ProjectMaker, hygge_cli) -> None:
    dropping = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    root = make_project({"flows/shop/flow.yml": dropping + "run_type: full_drop\n"})
    write_source(root, FIRST)
    assert hygge_cli("go", cwd=root).exit_code == 0
    write_source(root, SECOND)

    landed = json.loads(hygge_cli("schema", "--json", "shop.shop", cwd=root).stdout)

    assert [c["verdict"] for c in landed["columns"]] == [
        "type differs: replaced (full_drop)",
        "type differs: replaced (full_drop)",
        "new: added",
        "dropped (full_drop)",
    ]
    assert hygge_cli("go", cwd=root).exit_code == 0
    assert pl.read_parquet(root / "lake/*.parquet").columns == ["id", "amount", "extra"]


def test_a_folder_whose_columns_no_record_tells_is_said_so(
    make_project: ProjectMaker, hygge_cli
) -> None:
    root = make_project({"flows/shop/flow.yml": flow("{type: csv, path: lake}")})
    write_source(root, FIRST)
    (root / "lake").mkdir()
    (root / "lake/theirs.csv").write_text("id,amount\n1,x\n")

    shown = hygge_cli("schema", "shop.shop", cwd=root)

    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines() == [
        f"into {root / 'lake'}: the store cannot tell its columns",
        "id      int64",
        "amount  float64",
        "note    string",
    ]
    assert json.loads(hygge_cli("schema", "--json", "shop.shop", cwd=root).stdout)["exists"] is None


def test_a_destination_that_refuses_the_login_still_shows_the_incoming_columns(
    postgres_url: str, make_project: ProjectMaker, monkeypatch: pytest.MonkeyPatch, hygge_cli
) -> None:
    engine = Postgres(postgres_url.replace(PASSWORD, "wrong-pw"))
    for name, value in engine.env.items():
        monkeypatch.setenv(name, value)
    flows = {"flows/shop/flow.yml": flow(engine.store_yaml("orders"))}
    root = make_project({"hygge.yml": engine.hygge_yml(2), **flows})
    write_source(root, FIRST)

    shown = hygge_cli("schema", "shop.shop", cwd=root)

    assert shown.exit_code == 0, shown.output
    head, *rows = shown.stdout.splitlines()
    assert "its columns could not be read" in head and "wrong-pw" not in shown.output
    assert rows == ["id      int64", "amount  float64", "note    string"]
