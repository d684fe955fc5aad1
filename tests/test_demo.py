"""The scaffold is the demo: `hygge init` then `hygge go` moves the sample shop into a lake."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

from tests.conftest import read_lake


def test_init_then_go_lands_every_sample_table(tmp_path: Path, hygge_cli) -> None:
    result = hygge_cli("init", "shop", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    root = tmp_path / "shop"
    assert (root / ".gitignore").read_text().startswith(".hygge/")

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed, 0 skipped" in result.stdout
    customers = pl.read_csv(root / "data/crm/customers.csv", try_parse_dates=True)
    assert read_lake(root / "lake/crm/customers").equals(customers)
    orders = pl.read_parquet(sorted((root / "data/shop/orders").glob("*.parquet")))
    assert read_lake(root / "lake/shop/orders").sort("order_id").equals(orders.sort("order_id"))
    assert read_lake(root / "lake/shop/products").height == 120

    again = hygge_cli("go", "--json", cwd=root)
    rows = {e["entity"]: (e["run_type"], e["rows"]) for e in json.loads(again.stdout)["entities"]}
    assert rows["shop.orders"] == ("incremental", 0)
    assert rows["shop.products"] == ("full_drop", 120)
    assert rows["warehouse.orders"] == ("merge", 0)
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        counts = con.sql("select count(*), count(distinct order_id) from orders").fetchall()
    assert counts == [(4000, 4000)]


def test_sample_data_is_deterministic(tmp_path: Path, hygge_cli) -> None:
    hygge_cli("init", "a", cwd=tmp_path)
    hygge_cli("init", "b", cwd=tmp_path)
    for relative in ("data/crm/customers.csv", "data/shop/products.parquet"):
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()


def test_init_refuses_an_existing_folder_and_force_keeps_user_files(
    tmp_path: Path, hygge_cli
) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "hygge.yml").write_text("name: mine\n")
    (target / "notes.txt").write_text("keep me")

    refused = hygge_cli("init", "mine", cwd=tmp_path)
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr

    forced = hygge_cli("init", "mine", "--force", cwd=tmp_path)
    assert forced.exit_code == 0, forced.output
    assert (target / "hygge.yml").read_text() == "name: mine\n"
    assert (target / "notes.txt").read_text() == "keep me"
    assert (target / "flows/shop/flow.yml").is_file()


def test_dry_run_creates_nothing(tmp_path: Path, hygge_cli) -> None:
    hygge_cli("init", "shop", cwd=tmp_path)
    root = tmp_path / "shop"
    before = sorted(p for p in root.rglob("*"))

    result = hygge_cli("go", "--dry-run", "-v", cwd=root)

    assert result.exit_code == 0, result.output
    assert "shop.orders" in result.stdout and "full_drop" in result.stdout
    assert "batch_rows = 1000" in result.stdout and "orders.yml" in result.stdout
    assert sorted(p for p in root.rglob("*")) == before


def test_init_through_dotdot_never_overwrites_a_project(tmp_path: Path, hygge_cli) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "hygge.yml").write_text("name: mine\n")

    assert hygge_cli("init", "mine", cwd=tmp_path).exit_code == 2
    sneaky = hygge_cli("init", "mine/new/..", cwd=tmp_path)

    assert sneaky.exit_code == 2
    assert "already exists" in sneaky.stderr and "mine" in sneaky.stderr
    assert (target / "hygge.yml").read_text() == "name: mine\n"
    assert sorted(p.name for p in target.iterdir()) == ["hygge.yml"]


def test_init_force_never_writes_through_a_dangling_link(tmp_path: Path, hygge_cli) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    elsewhere = tmp_path / "elsewhere.yml"
    (target / "hygge.yml").symlink_to(elsewhere)

    forced = hygge_cli("init", "mine", "--force", cwd=tmp_path)

    assert forced.exit_code == 0, forced.output
    assert not elsewhere.exists()
    assert "kept" in forced.stdout and "hygge.yml" in forced.stdout


def test_init_force_names_a_file_in_the_way(tmp_path: Path, hygge_cli) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "flows").write_text("not a folder")

    forced = hygge_cli("init", "mine", "--force", cwd=tmp_path)

    assert forced.exit_code == 2
    assert "cannot write" in forced.stderr and "flows" in forced.stderr
    assert (target / "flows").read_text() == "not a folder"


def test_the_sql_server_to_fabric_example_plans_once_filled_in(
    tmp_path: Path, hygge_cli, monkeypatch
) -> None:
    """examples/ is beside the demo (which `go` alone runs, as above); its flow, with each
    <...> filled in and the commented connections added to hygge.yml, is a valid plan. Its
    landing zone is a local folder here, which takes no cloud connection."""
    hygge_cli("init", "shop", cwd=tmp_path)
    root = tmp_path / "shop"
    example = (root / "examples/sqlserver_to_fabric/flow.yml").read_text()
    filled = {
        "<server>": "db", "<database>": "shop", "<tenant id>": "t-1", "<client id>": "c-1",
        "<key column>": "order_id", "<last modified column>": "updated_at", "<table>": "orders",
    }  # fmt: skip
    for placeholder, value in filled.items():
        example = example.replace(placeholder, value)
    zone = tmp_path / "LandingZone"
    lines = example.splitlines()
    lines = [
        f'  path: "{zone}"' if "<landing zone URL" in line else line
        for line in lines
        if line != "  connection: onelake"
    ]
    assert "<" not in "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    start = lines.index("#        connections:")
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("#   3."))
    connections = "\n".join(line[len("#        ") :] for line in lines[start:end])
    (root / "hygge.yml").write_text((root / "hygge.yml").read_text() + connections + "\n")
    (root / "flows/sqlserver_to_fabric").mkdir()
    (root / "flows/sqlserver_to_fabric/flow.yml").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("SQL_CLIENT_SECRET", "s")
    monkeypatch.setenv("ONELAKE_CLIENT_SECRET", "s")

    listed = hygge_cli("ls", "--flow", "sqlserver_to_fabric", cwd=root)

    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith("sqlserver_to_fabric.orders\tincremental\tupdated_at\t")
    assert f"{zone}/dbo.schema/orders" in listed.stdout
