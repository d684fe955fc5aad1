"""`hygge go` end to end on real files: selection, failures, empty sources, replacing."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import data_files, read_lake

FLOW = """\
home: {type: csv, path: "data/{entity}.csv"}
store: {type: parquet, path: lake}
run_type: full_drop
entities: [orders, customers, products]
"""


@pytest.fixture
def shop(make_project) -> Path:
    root = make_project({"flows/sales/flow.yml": FLOW})
    data = root / "data"
    data.mkdir()
    (data / "orders.csv").write_text("id,amount\n1,2.5\n2,3.0\n3,4.25\n")
    (data / "customers.csv").write_text("id,name\n1,Åse\n2,Bo\n")
    (data / "products.csv").write_text("id,price\n7,9.99\n")
    return root


def test_go_moves_every_entity_and_replaces_on_rerun(shop: Path, hygge_cli) -> None:
    first = hygge_cli("go", cwd=shop)
    assert first.exit_code == 0, first.output
    (shop / "data/orders.csv").write_text("id,amount\n9,1.0\n")

    second = hygge_cli("go", cwd=shop)

    assert second.exit_code == 0, second.output
    assert read_lake(shop / "lake/orders").to_dicts() == [{"id": 9, "amount": 1.0}]
    assert len(data_files(shop / "lake/orders")) == 1
    assert read_lake(shop / "lake/customers")["name"].to_list() == ["Åse", "Bo"]
    assert sorted(p.name for p in (shop / "lake").iterdir()) == ["customers", "orders", "products"]


@pytest.mark.parametrize(
    ("args", "ran"),
    [
        (["--entity", "sales.orders"], ["sales.orders"]),
        (["--entity", "sales.orders,sales.products"], ["sales.orders", "sales.products"]),
        (["--entity", "sales.c*", "--entity", "*.products"], ["sales.customers", "sales.products"]),
        (["--flow", "sales"], ["sales.customers", "sales.orders", "sales.products"]),
        (["--flow", "sal*:d"], ["sales.customers", "sales.orders", "sales.products"]),
    ],
)
def test_selection(args: list[str], ran: list[str], shop: Path, hygge_cli) -> None:
    result = hygge_cli("go", "--json", *args, cwd=shop)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert sorted(e["entity"] for e in summary["entities"]) == ran
    assert sorted(p.name for p in (shop / "lake").iterdir()) == [a.split(".")[1] for a in ran]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--entity", "sales.ordrs"], "did you mean sales.orders"),
        (["--flow", "sale"], "did you mean sales"),
        (["--entity", "orders"], "expected FLOW.ENTITY"),
        (["--entity", "sales.orders:sometimes"], "unknown run type 'sometimes'"),
        (["--entity", "sales.orders:"], "--entity 'sales.orders:': nothing after ':'"),
        (["--flow", "sales:"], "--flow 'sales:': nothing after ':'"),
        (["--flow", "sales:", "--entity", "sales.orders"], "full_drop/full-drop/d"),
        (["--entity", "sales.orders:d", "--entity", "sales.orders:m"], "two run types"),
        (["-i", "-d"], "exclude each other"),
        (["--entity", "sales.orders:i"], "needs a watermark"),
    ],
)
def test_bad_selection_is_exit_2(args: list[str], message: str, shop: Path, hygge_cli) -> None:
    result = hygge_cli("go", *args, cwd=shop)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (shop / "lake").exists()


def test_entity_suffix_beats_flag_and_flow(shop: Path, hygge_cli) -> None:
    result = hygge_cli(
        "go",
        "--dry-run",
        "--json",
        "-i",
        "--flow",
        "sales:d",
        "--entity",
        "sales.orders:d",
        cwd=shop,
    )  # -i is beaten by the suffixes; without them planning would refuse (no watermark)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    orders = next(e for e in plan["entities"] if e["entity"] == "sales.orders")
    assert orders["run_type"] == "full_drop"
    assert orders["provenance"]["run_type"] == "command line selection suffix"


def test_bad_csv_fails_its_entity_only(shop: Path, hygge_cli) -> None:
    (shop / "data/orders.csv").write_text('id,amount\n1,2.5\n2,"unclosed\n3,4,5,6\n')

    result = hygge_cli("go", "--json", cwd=shop)

    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    statuses = {e["entity"]: e["status"] for e in summary["entities"]}
    assert statuses == {
        "sales.orders": "failed",
        "sales.customers": "success",
        "sales.products": "success",
    }
    orders = next(e for e in summary["entities"] if e["entity"] == "sales.orders")
    assert "orders.csv" in orders["error"]
    assert not (shop / "lake/orders").exists()
    assert not [p for p in (shop / "lake").iterdir() if p.name.startswith(".")]


def test_corrupt_parquet_fails_its_entity_and_keeps_the_old_copy(make_project, hygge_cli) -> None:
    flow = FLOW.replace("type: csv", "type: parquet").replace(".csv", ".parquet")
    root = make_project({"flows/sales/flow.yml": flow})
    (root / "data").mkdir()
    for name in ("orders", "customers", "products"):
        pl.DataFrame({"id": [1, 2]}).write_parquet(root / f"data/{name}.parquet")
    assert hygge_cli("go", cwd=root).exit_code == 0
    (root / "data/orders.parquet").write_bytes(b"PAR1 this is not parquet PAR1")

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 1
    assert "sales.orders" in result.stdout and "orders.parquet" in result.stdout
    assert "2 passed, 1 failed, 0 skipped" in result.stdout
    assert read_lake(root / "lake/orders")["id"].to_list() == [1, 2]


def test_empty_source_succeeds_and_writes_no_file(shop: Path, hygge_cli) -> None:
    (shop / "data/orders.csv").write_text("id,amount\n")

    result = hygge_cli("go", "--json", "--entity", "sales.orders", cwd=shop)

    assert result.exit_code == 0, result.output
    orders = json.loads(result.stdout)["entities"][0]
    assert (orders["status"], orders["rows"]) == ("success", 0)
    assert data_files(shop / "lake/orders") == []


def test_continue_on_error_false_starts_nothing_after_a_failure(make_project, hygge_cli) -> None:
    project = "name: t\noptions: {concurrency: 1, continue_on_error: false}\n"
    root = make_project({"hygge.yml": project, "flows/sales/flow.yml": FLOW})
    (root / "data").mkdir()
    (root / "data/orders.csv").write_text('id\n"broken\n1,2,3\n')
    (root / "data/customers.csv").write_text("id\n1\n")
    (root / "data/products.csv").write_text("id\n1\n")

    result = hygge_cli("go", "--json", cwd=root)

    assert result.exit_code == 1
    statuses = [(e["entity"], e["status"]) for e in json.loads(result.stdout)["entities"]]
    assert statuses == [
        ("sales.orders", "failed"),
        ("sales.customers", "skipped"),
        ("sales.products", "skipped"),
    ]


def test_concurrency_comes_from_options_unless_the_flag_says(make_project, hygge_cli) -> None:
    root = make_project(
        {"hygge.yml": "name: t\noptions: {concurrency: 3}\n", "flows/sales/flow.yml": FLOW}
    )
    (root / "data").mkdir()
    for name in ("orders", "customers", "products"):
        (root / f"data/{name}.csv").write_text("id\n1\n")
    from_options = json.loads(hygge_cli("go", "--dry-run", "--json", cwd=root).stdout)
    from_flag = json.loads(
        hygge_cli("go", "--dry-run", "--json", "--concurrency", "1", cwd=root).stdout
    )
    assert (from_options["concurrency"], from_flag["concurrency"]) == (3, 1)


def test_failed_entity_shows_error_and_hint_and_traceback_only_with_verbose(
    shop: Path, hygge_cli
) -> None:
    (shop / "data/orders.csv").write_text('id\n"broken\n1,2,3\n')
    plain = hygge_cli("go", cwd=shop)
    verbose = hygge_cli("go", "-v", cwd=shop)
    assert "sales.orders" in plain.stdout and "Traceback" not in plain.output
    assert "Traceback" in verbose.stdout


def test_quiet_prints_only_the_totals_when_all_is_well(shop: Path, hygge_cli) -> None:
    result = hygge_cli("go", "-q", cwd=shop)
    assert result.exit_code == 0
    assert result.stdout.strip().splitlines() == [result.stdout.strip().splitlines()[-1]]
    assert "3 passed" in result.stdout
