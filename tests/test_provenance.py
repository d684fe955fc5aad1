"""`hygge go --dry-run -v` credits every setting, and every home and store key, to where it was
set: its own line of a file, a --var, a named connection, or a default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PROJECT = """\
name: shop
options:
  retries: 5
connections:
  warehouse:
    type: postgres
    url: "postgres://loader:${PG_SECRET}@db.example:5432/shop"
"""
FLOW = """\
# the shop's tables
home:
  type: csv
  path: data
  delimiter: ";"
store:
  type: postgres
  connection: warehouse
  table: "{entity}"
defaults:
  retry_delay: 3
"""
ORDERS = """\
# orders change; keep the newest

watermark:
  column: updated_at

batch_rows: 10
home:
  header: false
"""
SECRET = "s3cr3t-canary"


@pytest.fixture
def shop(make_project, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PG_SECRET", SECRET)
    root = make_project(
        {
            "hygge.yml": PROJECT,
            "flows/shop/flow.yml": FLOW,
            "flows/shop/entities/orders.yml": ORDERS,
        }
    )
    (root / "data/orders").mkdir(parents=True)
    return root


def plan_lines(hygge_cli, root: Path, *args: str) -> list[str]:
    result = hygge_cli("go", "--dry-run", "-v", *args, cwd=root)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    return [line.strip() for line in result.stdout.splitlines()]


def test_each_setting_is_credited_to_its_own_line(shop: Path, hygge_cli) -> None:
    lines = plan_lines(hygge_cli, shop)
    assert "watermark = {'column': 'updated_at'}  (flows/shop/entities/orders.yml:3)" in lines
    assert "batch_rows = 10  (flows/shop/entities/orders.yml:6)" in lines
    assert "retry_delay = 3.0  (flows/shop/flow.yml:11)" in lines
    assert "retries = 5  (hygge.yml:3)" in lines
    assert "allow_empty = False  (built-in default)" in lines


def test_home_and_store_keys_show_where_they_were_set(shop: Path, hygge_cli) -> None:
    lines = plan_lines(hygge_cli, shop, "--var", "flow.shop.store.schema=sales")
    assert "home.type = 'csv'  (flows/shop/flow.yml:3)" in lines
    assert "home.path = 'data/orders'  (flows/shop/flow.yml:4)" in lines  # a folder per entity
    assert "home.delimiter = ';'  (flows/shop/flow.yml:5)" in lines
    assert "home.header = False  (flows/shop/entities/orders.yml:8)" in lines
    assert "home.infer_schema_rows = 10000  (built-in default)" in lines
    assert "store.table = 'orders'  (flows/shop/flow.yml:9)" in lines
    assert "store.schema = 'sales'  (--var flow.shop.store.schema=sales)" in lines
    url = "store.url = 'postgres://loader:***@db.example:5432/shop'"
    assert f"{url}  (connection warehouse in hygge.yml)" in lines


def test_the_json_plan_carries_the_keys_and_their_sources(shop: Path, hygge_cli) -> None:
    result = hygge_cli("go", "--dry-run", "--json", cwd=shop)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.stdout
    keys = json.loads(result.stdout)["entities"][0]["keys"]
    assert keys["home.header"]["value"] is False
    assert keys["home.header"]["source"].endswith("flows/shop/entities/orders.yml:8")
    assert keys["store.schema"] == {"value": "public", "source": "built-in default"}
