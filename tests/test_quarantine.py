"""Quarantine: rows a check holds back load to `<entity>__quarantine` beside the good rows,
each once, also when a crash falls between the two publishes."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as dbapi
import polars as pl
import pytest

from hygge.failpoints import CRASH_STATUS
from tests import proc
from tests.conftest import read_lake

AT = datetime(2026, 12, 1, tzinfo=UTC)
CHECKS = (
    "{not_null: [status], range: {amount: {min: 0}}, accepted_values: {status: [new, paid]},"
    " on_fail: {not_null: quarantine, range: quarantine, accepted_values: warn}}"
)


def orders(ids: list[int], status: list[Any], amount: list[float]) -> pl.DataFrame:
    stamps = [AT + timedelta(seconds=i) for i in ids]
    return pl.DataFrame({"id": ids, "status": status, "amount": amount, "updated_at": stamps})


def project(make_project: Any, store: str, hygge_yml: str = "name: test\n") -> Path:
    flow = (
        "home: {type: parquet, path: data}\n"
        f"store: {store}\n"
        "batch_rows: 2\n"
        "watermark: {column: updated_at}\n"
        f"checks: {CHECKS}\n"
        "polish: {case: upper}\n"
    )
    root: Path = make_project({"hygge.yml": hygge_yml, "flows/orders/flow.yml": flow})
    (root / "data").mkdir()
    return root


FIRST = orders([1, 2, 3, 4, 5], ["new", None, "paid", "gone", None], [1.0, 2.0, -3.0, 4.0, 5.0])
SECOND = orders([6, 7], ["new", None], [6.0, 7.0])


def go(root: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    result = proc.run(root, "go", "--json", env=env)
    out = json.loads(result.stdout) if result.stdout else {"entities": [{}]}
    return result.returncode, out["entities"][0], result.stderr


def held_rows(frame: pl.DataFrame) -> list[tuple[int, str]]:
    return sorted(zip(frame["ID"].to_list(), frame["hygge_failed_checks"].to_list(), strict=True))


EXPECTED_HELD = [(2, "not_null(status)"), (3, "range(amount)"), (5, "not_null(status)")]


def test_failing_rows_go_to_the_quarantine_folder_and_the_good_rows_load(
    make_project: Any,
) -> None:
    root = project(make_project, "{type: parquet, path: lake}")
    FIRST.write_parquet(root / "data/a.parquet")
    code, entity, err = go(root)

    assert code == 0, err
    assert entity["rows"] == 2
    assert sorted(read_lake(root / "lake")["ID"]) == [1, 4]  # polished names
    assert held_rows(read_lake(root / "lake__quarantine")) == EXPECTED_HELD
    report = entity["checks"]
    assert report["rows_checked"] == 5 and report["quarantined"] == 3
    found = {f["check"]: f for f in report["findings"]}
    assert found["range(amount)"] == {
        "check": "range(amount)",
        "on_fail": "quarantine",
        "rows": 1,
        "examples": ["-3.0"],
    }
    assert found["accepted_values(status)"]["on_fail"] == "warn"
    assert found["accepted_values(status)"]["examples"] == ["'gone'"]
    assert any("not_null(status): 2 rows: held back in" in w for w in entity["warnings"])

    SECOND.write_parquet(root / "data/b.parquet")  # the next run appends to both
    assert go(root)[0] == 0
    assert sorted(read_lake(root / "lake")["ID"]) == [1, 4, 6]
    assert held_rows(read_lake(root / "lake__quarantine")) == [
        *EXPECTED_HELD,
        (7, "not_null(status)"),
    ]


def test_a_row_failing_two_checks_names_both(make_project: Any) -> None:
    root = project(make_project, "{type: parquet, path: lake}")
    orders([1], [None], [-1.0]).write_parquet(root / "data/a.parquet")
    assert go(root)[0] == 0
    held = read_lake(root / "lake__quarantine")
    assert held["hygge_failed_checks"].to_list() == ["not_null(status), range(amount)"]


def test_a_crash_between_the_publishes_leaves_each_row_held_once_in_a_folder(
    make_project: Any,
) -> None:
    root = project(make_project, "{type: parquet, path: lake}")
    FIRST.write_parquet(root / "data/a.parquet")
    crash = {"HYGGE_FAILPOINT": "after_quarantine_publish"}
    assert go(root, crash)[0] == CRASH_STATUS
    assert held_rows(read_lake(root / "lake__quarantine")) == EXPECTED_HELD
    assert not (root / "lake").exists()  # the good rows were not published

    SECOND.write_parquet(root / "data/b.parquet")
    code, _, err = go(root)
    assert code == 0, err
    assert sorted(read_lake(root / "lake")["ID"]) == [1, 4, 6]
    assert held_rows(read_lake(root / "lake__quarantine")) == [
        *EXPECTED_HELD,
        (7, "not_null(status)"),
    ]


def test_a_crash_between_the_publishes_leaves_each_row_held_once_in_sqlite(
    make_project: Any,
) -> None:
    root = project(make_project, "{type: sqlite, path: shop.db, table: orders}")
    FIRST.write_parquet(root / "data/a.parquet")
    assert go(root, {"HYGGE_FAILPOINT": "after_quarantine_publish"})[0] == CRASH_STATUS
    SECOND.write_parquet(root / "data/b.parquet")
    code, _, err = go(root)

    assert code == 0, err
    with sqlite3.connect(root / "shop.db") as con:
        good = con.execute("SELECT ID FROM orders ORDER BY ID").fetchall()
        held = con.execute(
            "SELECT ID, hygge_failed_checks FROM orders__quarantine ORDER BY ID"
        ).fetchall()
    assert good == [(1,), (4,), (6,)]
    assert held == [*EXPECTED_HELD, (7, "not_null(status)")]


def test_postgres_quarantine_table_beside_the_entity(
    make_project: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG_URL", postgres_url)
    schema = "q_" + os.urandom(6).hex()
    root = project(
        make_project,
        f"{{type: postgres, connection: db, schema: {schema}, table: orders}}",
        'name: test\nconnections:\n  db: {type: postgres, url: "${PG_URL}"}\n',
    )
    FIRST.write_parquet(root / "data/a.parquet")
    code, entity, err = go(root)
    assert code == 0, err
    assert entity["checks"]["quarantined"] == 3
    with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f'SELECT "ID" FROM "{schema}"."orders" ORDER BY 1')
        assert cur.fetchall() == [(1,), (4,)]
        cur.execute(
            f'SELECT "ID", hygge_failed_checks FROM "{schema}"."orders__quarantine" ORDER BY 1'
        )
        assert cur.fetchall() == EXPECTED_HELD


def test_a_full_copy_replaces_the_quarantine(make_project: Any) -> None:
    root = project(make_project, "{type: parquet, path: lake}")
    flow = root / "flows/orders/flow.yml"
    flow.write_text(flow.read_text() + "run_type: full_drop\n")
    FIRST.write_parquet(root / "data/a.parquet")
    assert go(root)[0] == 0
    assert go(root)[0] == 0  # the same rows again: held once, not twice
    assert held_rows(read_lake(root / "lake__quarantine")) == EXPECTED_HELD
    assert sorted(read_lake(root / "lake")["ID"]) == [1, 4]


def test_a_full_copy_whose_every_row_is_held_back_leaves_the_destination_and_says_why(
    make_project: Any,
) -> None:
    root = project(make_project, "{type: parquet, path: lake}")
    flow = root / "flows/orders/flow.yml"
    flow.write_text(flow.read_text() + "run_type: full_drop\n")
    FIRST.write_parquet(root / "data/a.parquet")
    assert go(root)[0] == 0
    (root / "data/a.parquet").unlink()
    orders([8, 9], [None, None], [1.0, 2.0]).write_parquet(root / "data/b.parquet")

    code, entity, _ = go(root)

    assert code == 1
    assert "every row of" in entity["error"] and "failed a check (2 held back" in entity["error"]
    assert "would replace the 2 rows" in entity["error"] and "allow_empty" in entity["hint"]
    assert sorted(read_lake(root / "lake")["ID"]) == [1, 4]


@pytest.mark.parametrize(
    ("checks", "said"),
    [
        ("{unique: [id], on_fail: quarantine}", "check 'unique' cannot quarantine"),
        ("{row_count: {min: 1}, on_fail: {row_count: quarantine}}", "judges the run as a whole"),
        (
            "{not_null: [id], warn: [not_null], on_fail: {not_null: fail}}",
            "listed in warn and has on_fail 'fail'",
        ),
        ("{not_null: [id], on_fail: hide}", "on_fail"),
    ],
)
def test_what_cannot_quarantine_is_refused_before_anything_runs(
    make_project: Any, checks: str, said: str
) -> None:
    flow = (
        "home: {type: parquet, path: data}\n"
        f"store: {{type: parquet, path: lake}}\nchecks: {checks}\n"
    )
    root = make_project({"flows/orders/flow.yml": flow})
    result = proc.run(root, "go")
    assert result.returncode == 2, result.stderr
    assert said in result.stderr + result.stdout and "flow.yml" in result.stderr + result.stdout


def test_quarantine_with_new_files_only_is_refused(make_project: Any) -> None:
    flow = (
        "home: {type: parquet, path: data, new_files_only: true}\n"
        "store: {type: parquet, path: lake}\n"
        "checks: {not_null: [id], on_fail: quarantine}\n"
    )
    root = make_project({"flows/orders/flow.yml": flow})
    (root / "data").mkdir()
    result = proc.run(root, "go")
    assert result.returncode == 2
    assert "cannot go with home.new_files_only" in result.stderr + result.stdout


def test_an_entity_writing_where_another_ones_quarantine_goes_is_refused(
    make_project: Any,
) -> None:
    flow = (
        "home: {type: parquet, path: data}\n"
        "store: {type: parquet, path: lake}\n"
        "entities:\n"
        "  - {name: orders, checks: {not_null: [id], on_fail: quarantine}}\n"
        "  - orders__quarantine\n"
    )
    root = make_project({"flows/shop/flow.yml": flow})
    (root / "data/orders").mkdir(parents=True)
    (root / "data/orders__quarantine").mkdir(parents=True)
    result = proc.run(root, "go")
    assert result.returncode == 2, result.stderr
    assert "write the same destination" in result.stderr


def test_debug_checks_the_quarantine_destination_too(make_project: Any) -> None:
    flow = (
        "home: {type: parquet, path: data}\n"
        "store: {type: parquet, path: lake}\n"
        "checks: {not_null: [id], on_fail: quarantine}\n"
    )
    root = make_project({"flows/orders/flow.yml": flow})
    (root / "data").mkdir()
    orders([1], ["new"], [1.0]).write_parquet(root / "data/a.parquet")
    (root / "lake__quarantine").write_text("a file where the quarantine folder goes")
    result = proc.run(root, "debug")
    assert result.returncode == 1, result.stdout
    assert "quarantine" in result.stdout and "lake__quarantine" in result.stdout
