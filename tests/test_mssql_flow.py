"""SQL Server into a Fabric open mirroring landing zone, run for real where a server is given
(`HYGGE_TEST_MSSQL_URL=mssql://user:password@host:port/database`); skipped otherwise, as on
this project's machines and CI, which have no SQL Server. A full copy, then incremental runs
with rows tied at the watermark, then a crash mid-publish and a rerun: the mirror Fabric would
build from the zone equals the table, every row landed once, the zone as the pages want it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.landing_zone import check_landing_zone, read_mirror
from tests.test_open_mirroring import hygge

URL = os.environ.get("HYGGE_TEST_MSSQL_URL")
pytestmark = pytest.mark.skipif(
    not URL, reason="set HYGGE_TEST_MSSQL_URL=mssql://user:password@host:port/database to run"
    " the mssql to open_mirroring flow against SQL Server (none can run on this machine)"
)  # fmt: skip
T0 = datetime(2026, 3, 1, 8, 0, 0, 1, tzinfo=UTC)
FLOW = """\
home: {{type: mssql, url: "${{MSSQL_URL}}", table: "dbo.{table}"}}
store: {{type: open_mirroring, path: landing, schema: dbo, drop_wait: 0, table: orders}}
entities:
  - name: orders
    primary_key: [id]
    watermark: {{column: updated_at}}
"""


def run(statement: str, *params: Any) -> list[tuple[Any, ...]]:
    import mssql_python

    from hygge.engines._mssql_login import login

    with mssql_python.connect(login(URL or "").text, autocommit=True) as con:
        cursor = con.cursor()
        cursor.execute(statement, *params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []


def add_orders(table: str, ids: range, at: datetime, note: str = "new") -> None:
    for i in ids:
        run(f"INSERT INTO dbo.[{table}] VALUES (?, ?, ?, ?)", i, Decimal(i) + Decimal("0.25"),
            note, at.replace(tzinfo=None))  # fmt: skip


@pytest.fixture
def shop(make_project: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    table = "orders_" + os.urandom(6).hex()
    run(f"CREATE TABLE dbo.[{table}] (id bigint, amount decimal(12, 2), note nvarchar(100),"
        " updated_at datetimeoffset(6))")  # fmt: skip
    monkeypatch.setenv("MSSQL_URL", URL or "")
    root: Path = make_project({"flows/shop/flow.yml": FLOW.format(table=table)})
    add_orders(table, range(30), T0)
    yield root, table
    run(f"DROP TABLE IF EXISTS dbo.[{table}]")


def source(table: str) -> pl.DataFrame:
    rows = run(f"SELECT id, note FROM dbo.[{table}]")
    return pl.DataFrame(rows, schema=["id", "note"], orient="row").sort("id")


def mirrored(root: Path) -> pl.DataFrame:
    check_landing_zone(root / "landing")
    return read_mirror(root / "landing/dbo.schema/orders").select("id", "note").sort("id")


def test_a_full_copy_then_incremental_runs_with_ties_and_a_crash(shop: tuple[Path, str]) -> None:
    root, table = shop
    assert hygge(root, "go", "--entity", "shop.orders:d").returncode == 0
    assert mirrored(root).equals(source(table))

    add_orders(table, range(30, 35), T0)  # tied with the watermark
    add_orders(table, range(35, 40), T0 + timedelta(seconds=1))
    crashed = hygge(root, failpoint="mid_publish")
    assert crashed.returncode == 99, crashed.stderr
    rerun = hygge(root)
    assert rerun.returncode == 0, rerun.stderr

    assert mirrored(root).equals(source(table))
    files = sorted((root / "landing/dbo.schema/orders").glob("0*.parquet"))
    assert sum(pl.read_parquet(f).height for f in files) == 30 + 10  # every row once
