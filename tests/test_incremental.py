"""Incremental loading end to end through the CLI: no row lost, none duplicated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

import hygge
from tests.conftest import data_files, read_lake

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FLOW = """\
home: {type: parquet, path: "data/{entity}"}
store: {type: parquet, path: lake}
entities:
  - name: orders
    primary_key: [id]
    watermark: {column: updated_at}
  - {name: customers, run_type: full_drop}
"""


def add_orders(root: Path, ids: range, at: datetime, name: str, status: str = "new") -> None:
    folder = root / "data/orders"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(
        {"id": list(ids), "status": [status] * len(ids), "updated_at": [at] * len(ids)}
    )
    frame.write_parquet(folder / f"{name}.parquet")


def source(root: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted((root / "data/orders").glob("*.parquet")))


@pytest.fixture
def shop(make_project) -> Path:
    root = make_project({"flows/shop/flow.yml": FLOW})
    add_orders(root, range(100), T0, "a")
    (root / "data/customers").mkdir(parents=True)
    pl.DataFrame({"id": [1, 2]}).write_parquet(root / "data/customers/c.parquet")
    return root


def go(hygge_cli, root: Path, *args: str) -> dict:
    result = hygge_cli("go", "--json", *args, cwd=root)
    assert result.exit_code == 0, result.output
    return {e["entity"]: e for e in json.loads(result.stdout)["entities"]}


def test_only_new_rows_are_appended_and_ties_are_neither_lost_nor_doubled(
    shop: Path, hygge_cli
) -> None:
    assert go(hygge_cli, shop)["shop.orders"]["rows"] == 100
    add_orders(shop, range(100, 103), T0, "b")  # same timestamp as the watermark
    add_orders(shop, range(103, 110), T0 + timedelta(seconds=1), "c")

    second = go(hygge_cli, shop)

    assert second["shop.orders"]["rows"] == 10
    lake = read_lake(shop / "lake/orders")
    assert lake.sort("id").equals(source(shop).sort("id"))
    files_before = data_files(shop / "lake/orders")

    third = go(hygge_cli, shop)

    assert (third["shop.orders"]["status"], third["shop.orders"]["rows"]) == ("success", 0)
    assert data_files(shop / "lake/orders") == files_before


def test_an_update_that_keeps_its_timestamp_is_loaded_again(shop: Path, hygge_cli) -> None:
    go(hygge_cli, shop)
    add_orders(shop, range(99, 100), T0, "a", status="paid")  # replaces file a: id 99 only
    add_orders(shop, range(99), T0, "z")

    assert go(hygge_cli, shop)["shop.orders"]["rows"] == 1
    lake = read_lake(shop / "lake/orders")
    assert lake.filter(pl.col("id") == 99)["status"].to_list() == ["new", "paid"]


def test_mixed_run_types_in_one_command(shop: Path, hygge_cli) -> None:
    go(hygge_cli, shop)
    ran = go(hygge_cli, shop, "--entity", "shop.orders:d", "--entity", "shop.customers:d")
    assert ran["shop.orders"]["run_type"] == "full_drop"
    assert ran["shop.orders"]["rows"] == 100
    assert read_lake(shop / "lake/orders").height == 100  # replaced, not appended
    add_orders(shop, range(100, 105), T0 + timedelta(days=1), "b")
    ran = go(hygge_cli, shop, "--entity", "shop.orders:i", "--entity", "shop.customers:d")
    assert ran["shop.orders"]["rows"] == 5  # a full_drop commits the watermark too


def test_var_overrides_and_provenance(shop: Path, hygge_cli) -> None:
    result = hygge_cli(
        "go",
        "--dry-run",
        "-v",
        "--var",
        "flow.shop.batch_rows=7",
        "--var",
        "flow.shop.entities.orders.batch_rows=3",
        "--var",
        "flow.shop.entities.orders.watermark.lookback=2h",
        cwd=shop,
    )
    assert result.exit_code == 0, result.output
    orders = result.stdout.split("shop.orders  source:")[1]
    assert "batch_rows = 3  (--var flow.shop.entities.orders.batch_rows=3)" in orders
    assert "'lookback': '2h'" in orders and "'column': 'updated_at'" in orders
    customers = result.stdout.split("shop.customers  source:")[1].split("shop.orders")[0]
    assert "batch_rows = 7  (--var flow.shop.batch_rows=7)" in customers


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--var", "flow.shpo.batch_rows=1"], "did you mean 'shop'"),
        (["--var", "flow.shop.entities.ordrs.batch_rows=1"], "did you mean 'orders'"),
        (["--var", "flow.shop.batch_row=1"], "did you mean 'batch_rows'"),
        (["--var", "flow.shop.batch_rows=many"], "batch_rows"),
        (["--var", "shop.batch_rows=1"], "expected flow.FLOW.KEY=VALUE"),
        (["--to", "2026-01-01"], "--to needs --from"),
        (["--from", "2026-01-01"], "--from needs a selection"),
        (["--entity", "shop.orders:m"], "'merge' (from command line selection suffix) is not"),
        (["--entity", "shop.customers:i"], "needs a watermark"),
    ],
)
def test_bad_combinations_are_exit_2(args, message, shop: Path, hygge_cli) -> None:
    result = hygge_cli("go", *args, cwd=shop)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (shop / "lake").exists()


def test_history_reset_and_set(shop: Path, hygge_cli) -> None:
    go(hygge_cli, shop)
    history = json.loads(hygge_cli("history", "--json", cwd=shop).stdout)
    orders = next(h for h in history if h["entity"] == "shop.orders")
    assert (orders["status"], orders["rows_written"]) == ("success", 100)
    assert orders["watermark_after"].startswith("2026-03-01 00:00:00")

    suffixed = hygge_cli("journal", "reset", "--entity", "shop.orders:d", cwd=shop)
    assert suffixed.exit_code == 2 and "--entity shop.orders" in suffixed.output
    assert hygge_cli("history", "--entity", "shop.orders:i", cwd=shop).exit_code == 2
    reset = hygge_cli("journal", "reset", "--entity", "shop.orders", "--reason", "replay", cwd=shop)
    assert reset.exit_code == 0, reset.output
    assert go(hygge_cli, shop)["shop.orders"]["rows"] == 100  # read from the start again

    moved = hygge_cli(
        "journal", "set", "--entity", "shop.orders", "--to", "2026-03-02T00:00:00+00:00", cwd=shop
    )
    assert moved.exit_code == 0, moved.output
    add_orders(shop, range(200, 203), T0 + timedelta(days=2), "d")
    assert go(hygge_cli, shop)["shop.orders"]["rows"] == 3

    shown = json.loads(hygge_cli("journal", "show", "--json", cwd=shop).stdout)
    actions = [(a["action"], a["reason"]) for a in shown["audit"]]
    assert ("reset", "replay") in actions and ("set", "set from the command line") in actions
    assert all(a["user"] for a in shown["audit"])


def test_backfill_reads_a_window_and_keeps_the_watermark(shop: Path, hygge_cli) -> None:
    go(hygge_cli, shop)
    add_orders(shop, range(100, 110), T0 - timedelta(days=1), "old")  # late rows
    ran = go(
        hygge_cli,
        shop,
        "--entity",
        "shop.orders",
        "--from",
        "2026-02-28T00:00:00+00:00",
        "--to",
        "2026-02-28T23:59:59+00:00",
    )
    assert ran["shop.orders"]["rows"] == 10
    add_orders(shop, range(110, 111), T0 + timedelta(hours=1), "new")
    assert go(hygge_cli, shop)["shop.orders"]["rows"] == 1  # the watermark did not move back


def test_null_watermarks_are_reported_not_loaded(shop: Path, hygge_cli) -> None:
    frame = pl.DataFrame({"id": [500, 501], "status": ["x", "y"], "updated_at": [None, T0]})
    frame.cast({"updated_at": pl.Datetime("us", "UTC")}).write_parquet(
        shop / "data/orders/nulls.parquet"
    )
    result = hygge_cli("go", "--entity", "shop.orders", cwd=shop)
    assert result.exit_code == 0
    assert "1 rows with NULL updated_at were not loaded" in result.stdout
    assert 500 not in read_lake(shop / "lake/orders")["id"].to_list()


def test_a_full_copy_keeps_rows_whose_watermark_is_null(shop: Path, hygge_cli) -> None:
    frame = pl.DataFrame({"id": [500, 501], "status": ["x", "y"], "updated_at": [None, T0]})
    frame.cast({"updated_at": pl.Datetime("us", "UTC")}).write_parquet(
        shop / "data/orders/nulls.parquet"
    )
    copied = go(hygge_cli, shop, "--entity", "shop.orders:d")["shop.orders"]
    assert copied["rows"] == 102 and not copied["warnings"]
    assert go(hygge_cli, shop, "--entity", "shop.orders")["shop.orders"]["rows"] == 0
    lake = read_lake(shop / "lake/orders")
    assert sorted(lake["id"]) == sorted(source(shop)["id"])  # each row once, the NULL one too


@pytest.mark.parametrize("point", ["before_publish", "mid_publish", "after_publish"])
def test_a_crash_anywhere_then_a_rerun_loads_every_row_once(point: str, shop: Path) -> None:
    env = {**os.environ}
    assert _hygge(shop, env).returncode == 0
    for part in range(3):  # several new files, so a publish moves several
        add_orders(
            shop, range(200 + 10 * part, 210 + 10 * part), T0 + timedelta(hours=part), f"n{part}"
        )

    crashed = _hygge(shop, {**env, "HYGGE_FAILPOINT": point})
    assert crashed.returncode == 99, crashed.stderr
    rerun = _hygge(shop, env)

    assert rerun.returncode == 0, rerun.stderr
    lake = read_lake(shop / "lake/orders")
    assert lake.sort("id").equals(source(shop).sort("id"))
    history = json.loads(_hygge(shop, env, "history", "--json").stdout)
    assert "interrupted" in [h["status"] for h in history]  # the crashed run, marked by the next


def _hygge(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = args or ("go", "--var", "flow.shop.store.file_rows=10")
    return subprocess.run(
        [sys.executable, "-m", "hygge", *command],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_watermark_moved_to_another_column_stops_until_a_full_copy(shop: Path, hygge_cli) -> None:
    go(hygge_cli, shop)
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(flow.read_text().replace("column: updated_at", "column: id"))
    add_orders(shop, range(100, 105), T0, "b")

    stopped = hygge_cli("go", "--json", cwd=shop)

    assert stopped.exit_code == 1
    orders = {e["entity"]: e for e in json.loads(stopped.stdout)["entities"]}["shop.orders"]
    assert "'updated_at'" in orders["error"] and "'id'" in orders["error"]
    assert "shop.orders:d" in orders["hint"]
    assert read_lake(shop / "lake/orders").height == 100  # nothing read from the wrong bound
    assert go(hygge_cli, shop, "--entity", "shop.orders:d")["shop.orders"]["rows"] == 105
    add_orders(shop, range(105, 107), T0, "c")
    assert go(hygge_cli, shop, "--entity", "shop.orders")["shop.orders"]["rows"] == 2


def journal_mark(hygge_cli, root: Path) -> str | None:
    shown = json.loads(hygge_cli("journal", "show", "--json", cwd=root).stdout)
    return next(w["value"] for w in shown["watermarks"] if w["entity"] == "shop.orders")


@pytest.mark.parametrize(
    ("args", "source"),
    [
        (["--entity", "shop.orders:d"], "command line selection suffix"),
        (["--entity", "shop.orders", "--full-drop"], "command line flag"),
        (["-d", "--entity", "shop.orders"], "command line flag"),
        (["--entity", "shop.orders", "--var", "flow.shop.entities.orders.run_type=d"], "--var"),
    ],
)
def test_a_window_never_drives_a_full_drop(args, source: str, shop: Path, hygge_cli) -> None:
    go(hygge_cli, shop)
    add_orders(shop, range(100, 105), T0 + timedelta(days=1), "b")
    mark = journal_mark(hygge_cli, shop)

    for dry in ([], ["--dry-run"]):
        result = hygge_cli("go", *args, *dry, "--from", "2026-03-02T00:00:00Z", cwd=shop)
        assert result.exit_code == 2, result.output
        assert "--from/--to cannot run with full_drop" in result.stderr
        assert f"shop.orders runs full_drop, from {source}" in result.stderr
        assert "--entity shop.orders:i" in result.stderr  # what to run instead

    assert read_lake(shop / "lake/orders").height == 100  # not replaced by the window's 5
    assert journal_mark(hygge_cli, shop) == mark
    assert go(hygge_cli, shop)["shop.orders"]["rows"] == 5


def test_a_configured_full_drop_is_refused_with_its_file(shop: Path, hygge_cli) -> None:
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(flow.read_text().replace("primary_key: [id]", "run_type: full_drop"))
    result = hygge_cli("go", "--entity", "shop.orders", "--from", "2026-03-01", cwd=shop)
    assert result.exit_code == 2, result.output
    # the line of run_type itself (line 4 starts the entity's mapping)
    assert "shop.orders runs full_drop, from" in result.stderr and "flow.yml:5" in result.stderr
    assert not (shop / "lake").exists()


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (
            ["--from", "2026-03-02", "--to", "2026-03-01T12:00:00Z"],
            "--from 2026-03-02 comes after --to 2026-03-01T12:00:00Z",
        ),
        (["--from", "2026-03-01", "--to", "soon"], "--to 'soon' is not a valid value"),
        (["--from", "3/1/2026"], "--from '3/1/2026' is not a valid value"),
    ],
)
def test_a_window_that_is_empty_or_not_of_the_column_type_is_refused(
    window, message: str, shop: Path, hygge_cli
) -> None:
    go(hygge_cli, shop)
    runs = len(json.loads(hygge_cli("history", "--json", cwd=shop).stdout))

    result = hygge_cli("go", "--entity", "shop.orders", *window, cwd=shop)

    assert result.exit_code == 2, result.output
    assert f"shop.orders: {message}" in result.stderr
    assert len(json.loads(hygge_cli("history", "--json", cwd=shop).stdout)) == runs  # none ran


def test_dates_and_naive_values_mean_utc_for_a_zoned_column(shop: Path, hygge_cli) -> None:
    """The README's own examples, on a column with a time zone (updated_at is UTC)."""
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(
        flow.read_text().replace("{column: updated_at}", "{column: updated_at, start: 2026-03-02}")
    )
    add_orders(shop, range(100, 105), T0 + timedelta(days=1), "b")
    plan = hygge_cli("go", "--dry-run", "-v", "--entity", "shop.orders", cwd=shop)
    assert "watermark.start 2026-03-02: a date, or a time without a zone, means" in plan.stdout
    assert "in UTC" in plan.stdout
    dumped = json.loads(hygge_cli("go", "--dry-run", "--json", cwd=shop).stdout)
    assert dumped["entities"][0]["settings"]["watermark"]["start"] == "2026-03-02"

    assert go(hygge_cli, shop, "--entity", "shop.orders")["shop.orders"]["rows"] == 5  # start
    window = ("--from", "2026-03-01", "--to", "2026-03-01T00:00:00")
    assert go(hygge_cli, shop, "--entity", "shop.orders", *window)["shop.orders"]["rows"] == 100

    moved = hygge_cli("journal", "set", "--entity", "shop.orders", "--to", "2026-03-01", cwd=shop)
    assert moved.exit_code == 0, moved.output
    assert "watermark set to 2026-03-01 00:00:00+00:00" in moved.stdout


def test_a_zoned_value_for_a_naive_column_is_refused_as_written(make_project, hygge_cli) -> None:
    root = make_project({"flows/shop/flow.yml": FLOW})
    add_orders(root, range(3), T0.replace(tzinfo=None), "a")
    (root / "data/customers").mkdir()
    go(hygge_cli, root)

    result = hygge_cli(
        "journal", "set", "--entity", "shop.orders", "--to", "2026-03-01T00:00:00Z", cwd=root
    )

    assert result.exit_code == 2, result.output
    assert "'2026-03-01T00:00:00Z' has a time zone" in result.stderr
    assert "1970" not in result.stderr and "journal set" not in result.stderr
    assert "2026-01-31T00:00:00" in result.stderr  # how to write it instead


def test_a_backfill_into_a_merge_store_loads_the_window_again(make_project, hygge_cli) -> None:
    flow = FLOW.replace(
        "{type: parquet, path: lake}", '{type: duckdb, path: w.duckdb, table: "{entity}"}'
    )
    root = make_project(
        {
            "flows/shop/flow.yml": flow.replace(
                "primary_key: [id]", "primary_key: [id]\n    run_type: merge"
            )
        }
    )
    add_orders(root, range(10), T0, "a")
    add_orders(root, range(10, 20), T0 + timedelta(days=1), "b")
    (root / "data/customers").mkdir()
    pl.DataFrame({"id": [1]}).write_parquet(root / "data/customers/c.parquet")
    assert go(hygge_cli, root)["shop.orders"]["rows"] == 20
    add_orders(root, range(5), T0, "a", status="fixed")  # corrected at source, same stamp
    add_orders(root, range(5, 10), T0, "a2")  # (the rest of file a, as it was)

    window = ("--from", "2026-03-01", "--to", "2026-03-01")
    assert go(hygge_cli, root, "--entity", "shop.orders", *window)["shop.orders"]["rows"] == 10

    with duckdb.connect(str(root / "w.duckdb")) as con:
        rows = con.execute("SELECT status, count(*) FROM orders GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("fixed", 5), ("new", 15)]  # upserted on id: none twice, none lost


def test_a_start_not_of_the_column_type_names_the_setting(shop: Path, hygge_cli) -> None:
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(
        flow.read_text().replace("{column: updated_at}", "{column: updated_at, start: soon}")
    )
    result = hygge_cli("go", "--json", "--entity", "shop.orders", cwd=shop)
    assert result.exit_code == 1, result.output
    orders = json.loads(result.stdout)["entities"][0]
    assert orders["error"].startswith("watermark.start 'soon' is not a valid value")
    assert "2026-01-31T00:00:00+00:00" in orders["hint"]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_folder_whose_new_files_gain_a_column_loads_on(kind: str, make_project) -> None:
    """Files landing over time differ in columns: one more, then one fewer and reordered."""
    flow = f"home: {{type: {kind}, path: data/ev}}\nstore: {{type: parquet, path: lake}}\n"
    root = make_project({"flows/ev/flow.yml": flow + "watermark: {column: ts}\n"})
    (root / "data/ev").mkdir(parents=True)
    files = [
        pl.DataFrame({"id": [1, 2], "ts": [1, 2]}),
        pl.DataFrame({"id": [3], "ts": [3], "extra": ["x"]}),
        pl.DataFrame({"ts": [40], "id": [4]}),
    ]
    for number, frame in enumerate(files):
        path = root / f"data/ev/{number}.{kind}"
        frame.write_csv(path) if kind == "csv" else frame.write_parquet(path)
        result = hygge.run(root)
        assert result.exit_code == 0, [r.error for r in result.entities]
        assert result.entities[0].rows == frame.height

    lake = pl.read_parquet(sorted((root / "lake").glob("*.parquet"), reverse=True),
                           missing_columns="insert")  # fmt: skip
    assert sorted(lake.select("id", "ts", "extra").rows()) == [
        (1, 1, None), (2, 2, None), (3, 3, "x"), (4, 40, None)
    ]  # fmt: skip
