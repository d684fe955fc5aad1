"""columns, exclude_columns and cast on every home; source_file on file homes."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as dbapi
import polars as pl
import pytest

import hygge
from hygge.typenames import parse_type, type_name
from tests.conftest import read_lake

ROWS = pl.DataFrame({"id": [1, 2], "email": ["a@x", "b@x"], "code": ["7", "8"], "note": ["", "n"]})


def write(folder: Path, kind: str, frame: pl.DataFrame = ROWS, name: str = "a") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    getattr(frame, f"write_{kind}")(folder / f"{name}.{kind}")


def project(make_project: Any, home: str, hygge_yml: str = "name: test\n") -> Path:
    flow = f"home: {home}\nstore: {{type: parquet, path: lake}}\n"
    root: Path = make_project({"hygge.yml": hygge_yml, "flows/people/flow.yml": flow})
    return root


def go(hygge_cli: Any, root: Path) -> tuple[int, dict[str, Any]]:
    result = hygge_cli("go", "--json", cwd=root)
    return result.exit_code, json.loads(result.stdout)["entities"][0]


@pytest.mark.parametrize("kind", ["parquet", "csv", "ndjson"])
def test_file_homes_read_the_columns_named_and_cast_them(
    make_project: Any, hygge_cli: Any, kind: str
) -> None:
    root = project(
        make_project, f"{{type: {kind}, path: data, columns: [code, id], cast: {{code: int64}}}}"
    )
    write(root / "data", kind)
    code, entity = go(hygge_cli, root)
    assert code == 0, entity
    lake = read_lake(root / "lake")
    assert lake.columns == ["code", "id"]
    assert lake.schema["code"] == pl.Int64 and lake["code"].to_list() == [7, 8]


@pytest.mark.parametrize("kind", ["parquet", "csv", "ndjson"])
def test_file_homes_leave_out_excluded_columns(
    make_project: Any, hygge_cli: Any, kind: str
) -> None:
    root = project(make_project, f"{{type: {kind}, path: data, exclude_columns: [email, note]}}")
    write(root / "data", kind)
    assert go(hygge_cli, root)[0] == 0
    assert read_lake(root / "lake").columns == ["id", "code"]


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ("columns: [id, emial]", "home.columns names column 'emial'"),
        ("exclude_columns: [nte]", "home.exclude_columns names column 'nte'"),
        ("cast: {cod: int64}", "home.cast names column 'cod'"),
    ],
)
def test_an_unknown_column_is_named_with_the_nearest_one(
    make_project: Any, hygge_cli: Any, keys: str, said: str
) -> None:
    root = project(make_project, f"{{type: parquet, path: data, {keys}}}")
    write(root / "data", "parquet")
    code, entity = go(hygge_cli, root)
    assert code == 1
    assert entity["error"].startswith("people.people: " + said)
    assert "did you mean" in entity["error"]
    assert not (root / "lake").exists()


def test_a_value_that_does_not_cast_fails_naming_the_cast(
    make_project: Any, hygge_cli: Any
) -> None:
    root = project(make_project, "{type: parquet, path: data, cast: {email: int64}}")
    write(root / "data", "parquet")
    code, entity = go(hygge_cli, root)
    assert code == 1 and "home.cast (email to int64) failed" in entity["error"]


def test_a_type_cast_cannot_name_is_refused_where_it_is_written(
    make_project: Any, hygge_cli: Any
) -> None:
    root = project(make_project, "{type: parquet, path: data, cast: {id: integer}}")
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2 and "'integer' is not a type" in result.output


def test_casting_the_watermark_column_is_refused(make_project: Any, hygge_cli: Any) -> None:
    root = project(make_project, "{type: parquet, path: data, cast: {id: string}}")
    flow = root / "flows/people/flow.yml"
    flow.write_text(flow.read_text() + "watermark: {column: id}\n")
    write(root / "data", "parquet")
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2 and "casts the watermark column 'id'" in result.output


def test_sqlite_names_the_columns_in_its_select(make_project: Any, hygge_cli: Any) -> None:
    home = (
        "{type: sqlite, path: src.db, table: people, exclude_columns: [note], cast: {code: int32}}"
    )
    root = project(make_project, home)
    with sqlite3.connect(root / "src.db") as con:
        con.execute("CREATE TABLE people (id INTEGER, code TEXT, note TEXT)")
        con.execute("INSERT INTO people VALUES (1, '7', 'x'), (2, '8', 'y')")
    code, entity = go(hygge_cli, root)
    assert code == 0, entity
    lake = read_lake(root / "lake")
    assert lake.columns == ["id", "code"] and lake.schema["code"] == pl.Int32
    planned = hygge.make_plan(hygge.load_project(root)).entities[0].home
    assert planned.relation("TRUE").startswith('SELECT "id", "code" FROM "people"')


def test_postgres_names_the_columns_in_its_select(
    make_project: Any, hygge_cli: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG_URL", postgres_url)
    view = "v_" + os.urandom(6).hex()
    with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(
            f"CREATE VIEW {view} AS SELECT g AS id, 1 / (g - g) AS boom"
            " FROM generate_series(1, 3) g"
        )
    root = project(
        make_project,
        f"{{type: postgres, connection: db, query: 'SELECT * FROM {view}', columns: [id]}}",
        'name: test\nconnections:\n  db: {type: postgres, url: "${PG_URL}"}\n',
    )
    code, entity = go(hygge_cli, root)
    assert code == 0, entity
    assert sorted(read_lake(root / "lake")["id"]) == [1, 2, 3]


@pytest.mark.parametrize("kind", ["parquet", "csv", "ndjson"])
def test_source_file_names_each_rows_file_relative_to_the_home(
    make_project: Any, hygge_cli: Any, kind: str
) -> None:
    root = project(make_project, f"{{type: {kind}, path: data, source_file: from_file}}")
    write(root / "data", kind, ROWS.head(1), "a")
    write(root / "data/2026", kind, ROWS.tail(1), "b")
    assert go(hygge_cli, root)[0] == 0
    lake = read_lake(root / "lake").sort("id")
    assert lake["from_file"].to_list() == [f"a.{kind}", f"2026/b.{kind}"]


def test_source_file_of_a_single_file_home_is_its_name(make_project: Any, hygge_cli: Any) -> None:
    root = project(make_project, "{type: parquet, path: data/a.parquet, source_file: f}")
    write(root / "data", "parquet")
    assert go(hygge_cli, root)[0] == 0
    assert set(read_lake(root / "lake")["f"]) == {"a.parquet"}


def test_source_file_may_not_take_a_source_columns_name(make_project: Any, hygge_cli: Any) -> None:
    root = project(make_project, "{type: parquet, path: data, source_file: email}")
    write(root / "data", "parquet")
    code, entity = go(hygge_cli, root)
    assert code == 1 and "home.source_file names column 'email'" in entity["error"]


@pytest.mark.parametrize(
    "written", ["int64", "uint8", "string", "boolean", "date", "decimal(12, 2)", "datetime(ns)",
                "datetime(us, Europe/Oslo)"],
)  # fmt: skip
def test_a_type_is_shown_as_cast_writes_it(written: str) -> None:
    """hygge schema shows types in cast's words, so a shown type can be pasted into cast."""
    assert type_name(parse_type(written)) == written
