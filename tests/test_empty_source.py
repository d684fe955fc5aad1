"""An empty source must not silently empty a destination that holds rows: a full_drop of no
rows over rows needs `allow_empty`, on every store (SQL stores: tests/test_sql_engines.py)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import read_lake

FLOW = """\
home: {type: parquet, path: data/orders}
store: {type: parquet, path: lake/orders}
run_type: full_drop
"""


@pytest.fixture
def shop(make_project, hygge_cli) -> Path:
    """A lake holding the three orders of one good run."""
    root = make_project({"flows/shop/flow.yml": FLOW})
    (root / "data/orders").mkdir(parents=True)
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(root / "data/orders/a.parquet")
    assert hygge_cli("go", cwd=root).exit_code == 0
    (root / "data/orders/a.parquet").unlink()  # the folder is empty now
    return root


def lake_files(root: Path) -> dict[str, bytes]:
    """Every file under lake/, commit records included."""
    lake = root / "lake"
    return {str(p.relative_to(lake)): p.read_bytes() for p in lake.rglob("*") if p.is_file()}


def failure(result) -> dict:
    return json.loads(result.stdout)["entities"][0]


def test_an_empty_folder_does_not_empty_a_full_destination(shop: Path, hygge_cli) -> None:
    before = lake_files(shop)

    result = hygge_cli("go", "--json", cwd=shop)

    assert result.exit_code == 1, result.output
    entity = failure(result)
    assert str(shop / "data/orders") in entity["error"]
    assert "3 rows" in entity["error"] and str(shop / "lake/orders") in entity["error"]
    assert "allow_empty: true" in entity["hint"]
    assert lake_files(shop) == before


def test_a_glob_matching_nothing_does_not_empty_a_full_destination(shop: Path, hygge_cli) -> None:
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(flow.read_text().replace("data/orders}", '"data/orders/*.parquet"}'))
    before = lake_files(shop)

    result = hygge_cli("go", "--json", cwd=shop)

    assert result.exit_code == 1, result.output
    assert "data/orders/*.parquet gave no rows" in failure(result)["error"]
    assert lake_files(shop) == before


@pytest.mark.parametrize(
    ("where", "args"),
    [
        ("entity", ()),
        ("defaults", ()),
        ("var", ("--var", "flow.shop.allow_empty=true")),
        ("entity var", ("--var", "flow.shop.entities.shop.allow_empty=true")),
    ],
)
def test_allow_empty_publishes_an_empty_copy(
    where: str, args: tuple[str, ...], shop: Path, hygge_cli
) -> None:
    flow = shop / "flows/shop/flow.yml"
    if where == "entity":
        flow.write_text(FLOW + "allow_empty: true\n")
    elif where == "defaults":
        flow.write_text(FLOW + "defaults: {allow_empty: true}\n")

    result = hygge_cli("go", "--json", *args, cwd=shop)

    assert result.exit_code == 0, result.output
    assert (failure(result)["status"], failure(result)["rows"]) == ("success", 0)
    assert not list((shop / "lake/orders").glob("*.parquet"))


def test_a_destination_without_rows_takes_an_empty_copy(shop: Path, hygge_cli) -> None:
    pl.DataFrame({"id": []}, schema={"id": pl.Int64}).write_parquet(shop / "data/orders/e.parquet")
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(FLOW + "allow_empty: true\n")
    assert hygge_cli("go", cwd=shop).exit_code == 0
    flow.write_text(FLOW)

    result = hygge_cli("go", cwd=shop)  # nothing to lose: no setting needed

    assert result.exit_code == 0, result.output


def test_allow_empty_for_the_whole_project_is_refused(shop: Path, hygge_cli) -> None:
    (shop / "hygge.yml").write_text("name: test\noptions: {allow_empty: true}\n")

    result = hygge_cli("go", cwd=shop)

    assert result.exit_code == 2
    assert "hygge.yml" in result.stderr and "allow_empty" in result.stderr
    assert read_lake(shop / "lake/orders")["id"].to_list() == [1, 2, 3]
