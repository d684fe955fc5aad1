"""Data checks: a failed check publishes nothing and keeps the watermark; `warn` only warns."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import lake_snapshot, read_lake

NOW = datetime.now(UTC).replace(microsecond=0)


def orders(ids: list[int], **columns: list[object]) -> pl.DataFrame:
    """Rows stamped by id, a second apart, the last ids newest (and within the last hour)."""
    base: dict[str, list[object]] = {
        "id": list(ids),
        "status": ["new"] * len(ids),
        "amount": [10.0] * len(ids),
        "updated_at": [NOW - timedelta(minutes=30) + timedelta(seconds=i) for i in ids],
    }
    return pl.DataFrame(base | columns)


def project(make_project, checks: str, store: str = "{type: parquet, path: lake}") -> Path:
    flow = (
        'home: {type: parquet, path: "data/{entity}"}\n'
        f"store: {store}\n"
        "batch_rows: 3\n"  # checks must see across batches
        "entities:\n"
        "  - name: orders\n"
        "    watermark: {column: updated_at}\n"
        f"    checks: {checks}\n"
    )
    root = make_project({"flows/shop/flow.yml": flow})
    (root / "data/orders").mkdir(parents=True)
    return root


def go(hygge_cli, root: Path) -> tuple[int, dict]:
    result = hygge_cli("go", "--json", cwd=root)
    entities = json.loads(result.stdout)["entities"]
    return result.exit_code, entities[0]


def test_accepted_values_read_as_written_not_as_yaml_1_1_booleans(make_project, hygge_cli) -> None:
    """`NO` is Norway and `on` a status, not false and true (YAML 1.1 would have read them so,
    and every row would fail); an entity's boolean setting still takes yes."""
    root = project(make_project, "{accepted_values: {country: [NO, SE], status: [on, off]}}")
    flow = root / "flows/shop/flow.yml"
    flow.write_text(flow.read_text() + "    allow_empty: yes\n")
    rows = orders([1, 2, 3], country=["NO", "SE", "NO"], status=["on", "off", "on"])
    rows.write_parquet(root / "data/orders/a.parquet")
    code, entity = go(hygge_cli, root)
    assert code == 0 and entity["rows"] == 3, entity


def test_checks_that_pass_let_the_rows_through(make_project, hygge_cli) -> None:
    checks = (
        "{not_null: [id], unique: [id], accepted_values: {status: [new, paid]},"
        " range: {amount: {min: 0, max: 100}}, row_count: {min: 1}, "
        " freshness: {column: updated_at, max_age: 1h}}"
    )
    root = project(make_project, checks)
    orders(list(range(8))).write_parquet(root / "data/orders/a.parquet")
    code, entity = go(hygge_cli, root)
    assert code == 0 and entity["rows"] == 8 and entity["warnings"] == []


def test_a_failed_check_publishes_nothing_and_names_every_failure(make_project, hygge_cli) -> None:
    root = project(make_project, "{not_null: [status], accepted_values: {status: [new, paid]}}")
    orders([1, 2]).write_parquet(root / "data/orders/a.parquet")
    assert go(hygge_cli, root)[0] == 0
    before = lake_snapshot(root / "lake")
    statuses: list[object] = ["new", None, "lost", "paid", "lost"]
    orders([3, 4, 5, 6, 7], status=statuses).write_parquet(root / "data/orders/b.parquet")

    code, entity = go(hygge_cli, root)
    assert code == 1 and entity["status"] == "failed"
    assert "not_null(status): 1 rows" in entity["error"]
    assert "accepted_values(status): 2 rows, e.g. 'lost'" in entity["error"]
    assert lake_snapshot(root / "lake") == before  # the destination as it was
    # the watermark did not move: once the source is fixed, the same rows load
    (root / "data/orders/b.parquet").unlink()
    orders([3, 4, 5, 6, 7]).write_parquet(root / "data/orders/b.parquet")
    assert go(hygge_cli, root)[0] == 0
    assert sorted(read_lake(root / "lake/orders")["id"]) == [1, 2, 3, 4, 5, 6, 7]


def test_a_key_repeated_across_batches_fails_unique(make_project, hygge_cli) -> None:
    root = project(make_project, "{unique: [id]}")
    orders([1, 2, 3, 4, 5, 1]).write_parquet(root / "data/orders/a.parquet")  # batches of 3
    code, entity = go(hygge_cli, root)
    assert code == 1 and "unique(id): 2 rows, e.g. (1,)" in entity["error"]
    assert not (root / "lake/orders").exists()


def test_range_row_count_and_freshness_judge_the_run(make_project, hygge_cli) -> None:
    checks = (
        "{range: {amount: {min: 0}}, row_count: {max: 2},"
        " freshness: {column: updated_at, max_age: 1h}}"
    )
    root = project(make_project, checks)
    stale = [NOW - timedelta(days=2)] * 3
    orders([1, 2, 3], amount=[5.0, -1.0, 7.0], updated_at=stale).write_parquet(
        root / "data/orders/a.parquet"
    )
    code, entity = go(hygge_cli, root)
    assert code == 1
    assert "range(amount): 1 rows, e.g. -1.0" in entity["error"]
    assert "row_count(min None, max 2): the run loads 3 rows" in entity["error"]
    assert "freshness(updated_at, max_age 1h): newest" in entity["error"]


def test_checks_listed_in_warn_only_warn(make_project, hygge_cli) -> None:
    root = project(
        make_project, "{not_null: [status], row_count: {min: 100}, warn: [not_null, row_count]}"
    )
    orders([1, 2], status=[None, "new"]).write_parquet(root / "data/orders/a.parquet")
    code, entity = go(hygge_cli, root)
    assert code == 0 and entity["rows"] == 2
    assert entity["warnings"] == [
        "not_null(status): 1 rows",
        "row_count(min 100, max None): the run loads 2 rows",
    ]


def test_a_failed_check_leaves_a_database_table_and_its_watermark_alone(
    make_project, hygge_cli
) -> None:
    root = project(
        make_project, "{not_null: [status]}", "{type: sqlite, path: shop.db, table: orders}"
    )
    orders([1, 2]).write_parquet(root / "data/orders/a.parquet")
    assert go(hygge_cli, root)[0] == 0
    orders([3, 4], status=[None, "x"]).write_parquet(root / "data/orders/b.parquet")
    assert go(hygge_cli, root)[0] == 1
    with sqlite3.connect(root / "shop.db") as con:
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (2,)
    shown = hygge_cli("journal", "show", "--json", cwd=root)
    marks = json.loads(shown.stdout)["watermarks"]
    assert (
        len(marks) == 1
        and marks[0]["run_id"]
        == json.loads(hygge_cli("history", "--json", cwd=root).stdout)[-1]["run_id"]
    )


@pytest.mark.parametrize(
    ("checks", "named"),
    [("{not_null: [nope]}", "not_null names column 'nope'"), ("{unique: [id, nope]}", "unique")],
)
def test_a_check_on_a_missing_column_says_so(make_project, hygge_cli, checks, named) -> None:
    root = project(make_project, checks)
    orders([1]).write_parquet(root / "data/orders/a.parquet")
    code, entity = go(hygge_cli, root)
    assert code == 1 and named in entity["error"] and "'nope'" in entity["error"]


def test_an_unknown_check_is_refused_where_it_is_written(make_project, hygge_cli) -> None:
    root = project(make_project, "{not_nul: [id]}")
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2 and "not_nul" in result.output and "flow.yml" in result.output
