"""PostgreSQL into a Delta table, run for real: hygge as a process, the session's PostgreSQL
server as the home, a Delta table in tmp_path as the store. A full copy, then incremental runs
with new rows tied at the watermark, then a crash at each failpoint and a rerun: the table
equals the source, no row twice."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as dbapi
import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from hygge.homes.postgres import exact, exact_schema
from tests import proc

T0 = datetime(2026, 3, 1, 8, 0, 0, 1, tzinfo=UTC)
FLOW = """\
home: {{type: postgres, connection: db, table: "{schema}.{{entity}}"}}
store: {{type: delta, path: lake}}
batch_rows: 7
entities:
  - name: orders
    primary_key: [id]
    watermark: {{column: updated_at}}
"""


@pytest.fixture
def shop(make_project: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project reading table orders of a schema of its own, which holds 30 rows."""
    monkeypatch.setenv("PG_URL", postgres_url)
    schema = "s_" + os.urandom(6).hex()
    with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(
            f"CREATE TABLE {schema}.orders (id bigint, amount numeric(12, 2), note text,"
            " updated_at timestamptz)"
        )
    root: Path = make_project(
        {
            "hygge.yml": 'name: test\nconnections:\n  db: {type: postgres, url: "${PG_URL}"}\n',
            "flows/shop/flow.yml": FLOW.format(schema=schema),
        }
    )
    (root / "schema").write_text(schema)
    add_orders(root, postgres_url, range(30), T0)
    return root


def add_orders(root: Path, url: str, ids: range, at: datetime, note: str = "new") -> None:
    schema = (root / "schema").read_text()
    rows = [(i, Decimal(i) + Decimal("0.25"), note, at) for i in ids]
    with dbapi.connect(url, autocommit=True) as con, con.cursor() as cur:
        for row in rows:
            cur.execute(f"INSERT INTO {schema}.orders VALUES ($1, $2, $3, $4)", row)


def source(root: Path, url: str) -> pl.DataFrame:
    schema = (root / "schema").read_text()
    with dbapi.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"SELECT * FROM {schema}.orders")
        arrow = cur.fetch_arrow_table()  # numeric arrives as text: typed as hygge reads it
        batches = [exact(batch) for batch in arrow.to_batches()]
        frame = pl.from_arrow(pa.Table.from_batches(batches, exact_schema(arrow.schema)))
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("id", "note")


def lake(root: Path) -> pl.DataFrame:
    return pl.read_delta(str(root / "lake/orders")).sort("id", "note")


def go(root: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = proc.run(root, "go", "--json", *args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return {e["entity"]: e for e in json.loads(done.stdout)["entities"]}["shop.orders"]


def test_full_copy_then_incremental_runs_with_ties(shop: Path, postgres_url: str) -> None:
    assert go(shop, "--entity", "shop.orders:d")["rows"] == 30
    assert lake(shop).equals(source(shop, postgres_url))
    assert lake(shop).schema["amount"] == pl.Decimal(12, 2)
    assert lake(shop).schema["updated_at"] == pl.Datetime("us", "UTC")

    add_orders(shop, postgres_url, range(30, 35), T0)  # tied with the watermark
    add_orders(shop, postgres_url, range(35, 40), T0 + timedelta(microseconds=1))
    assert go(shop)["rows"] == 10
    add_orders(shop, postgres_url, range(40, 42), T0 + timedelta(microseconds=1))
    assert go(shop)["rows"] == 2
    assert go(shop)["rows"] == 0
    assert lake(shop).equals(source(shop, postgres_url))
    table = DeltaTable(str(shop / "lake/orders"))
    assert table.version() == 3, "one commit per run"
    assert table.transaction_version("hygge") == 4


def test_a_merge_run_upserts_the_changed_rows(shop: Path, postgres_url: str) -> None:
    go(shop, "--entity", "shop.orders:d")
    schema = (shop / "schema").read_text()
    with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
        later = T0 + timedelta(hours=1)
        cur.execute(f"UPDATE {schema}.orders SET note = 'x', updated_at = $1 WHERE id < 5", [later])
    assert go(shop, "--entity", "shop.orders:m")["rows"] == 5
    assert lake(shop).equals(source(shop, postgres_url))


@pytest.mark.parametrize(
    ("run_type", "point"),
    [
        ("i", "after_batch"),
        ("i", "before_publish"),
        ("i", "mid_publish"),
        ("i", "after_publish"),
        ("d", "after_publish"),
        ("m", "after_publish"),
    ],
)
def test_a_crash_then_a_rerun_leaves_every_row_once(
    run_type: str, point: str, shop: Path, postgres_url: str
) -> None:
    go(shop)
    add_orders(shop, postgres_url, range(30, 45), T0)  # tied with the watermark
    add_orders(shop, postgres_url, range(45, 60), T0 + timedelta(seconds=1))
    selected = f"shop.orders:{run_type}"
    crashed = proc.run(shop, "go", "--entity", selected, env={"HYGGE_FAILPOINT": point})
    assert crashed.returncode == 99, crashed.stdout + crashed.stderr

    go(shop, "--entity", selected)
    assert lake(shop).equals(source(shop, postgres_url))
    add_orders(shop, postgres_url, range(60, 63), T0 + timedelta(seconds=1))
    go(shop)
    assert lake(shop).equals(source(shop, postgres_url))
    statuses = [run["status"] for run in proc.history(shop)]
    assert "interrupted" in statuses  # the crashed run, marked by the next


@pytest.mark.parametrize("retries", [2, 0])
def test_a_commit_that_loses_to_another_writer_is_retried_or_reported(
    retries: int, make_project: Any, tmp_path: Path
) -> None:
    """A full copy held after handing delta-rs its rows while another writer deletes a row:
    both remove the same file, so the copy's commit conflicts; the entity's retry copies
    again, and without retries the run fails saying why."""
    root: Path = make_project(
        {
            "flows/x/flow.yml": "home: {type: parquet, path: data/x.parquet}\n"
            "store: {type: delta, path: lake/x}\nrun_type: full_drop\n"
            f"retries: {retries}\nretry_delay: 0\n"
        }
    )
    (root / "data").mkdir()
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(root / "data/x.parquet")
    first = proc.run(root, "go")
    assert first.returncode == 0, first.stderr
    marker = tmp_path / "held"
    runner = proc.start_paused(root, marker, "go", "--json", point="mid_publish")
    try:
        DeltaTable(str(root / "lake/x")).delete("id = 1")
    finally:
        marker.unlink()
    status, out, err = proc.finish(runner)
    entity = json.loads(out)["entities"][0]
    if retries:
        assert (status, entity["attempts"]) == (0, 2), out + err
        assert pl.read_delta(str(root / "lake/x")).sort("id")["id"].to_list() == [1, 2, 3]
    else:
        assert status == 1, out + err
        assert "another writer committed to" in entity["error"], entity
        assert pl.read_delta(str(root / "lake/x")).sort("id")["id"].to_list() == [2, 3]
