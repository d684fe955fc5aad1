"""The library does what the CLI does, refusing the same bad input with the same errors:
an orchestrator (Airflow, Dagster, Prefect) calls it without a command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

import hygge
from hygge import steering
from hygge.errors import UsageError
from tests.test_incremental import FLOW, T0, add_orders


@pytest.fixture
def shop(make_project) -> Path:
    """orders (watermark updated_at, 100 rows at T0) and customers (full_drop, 2 rows)."""
    root = make_project({"flows/shop/flow.yml": FLOW})
    add_orders(root, range(100), T0, "a")
    (root / "data/customers").mkdir(parents=True)
    pl.DataFrame({"id": [1, 2]}).write_parquet(root / "data/customers/c.parquet")
    return root


def test_set_show_and_reset_a_watermark_from_python(shop: Path) -> None:
    mark = steering.set_watermark(shop, "shop.orders", "2026-03-02", "replay", user="ann")

    assert mark.display() == "2026-03-02 00:00:00+00:00"  # a date means midnight UTC
    marks, audit = steering.watermarks(shop, "shop.orders")
    assert [(f, e, r.column if r else None) for f, e, r in marks] == [
        ("shop", "orders", "updated_at")
    ]
    assert [(a.action, a.user, a.reason) for a in audit] == [("set", "ann", "replay")]
    assert steering.reset_watermark(shop, "shop.orders", "again", user="bob") is True
    assert steering.reset_watermark(shop, "shop.orders", "again", user="bob") is False
    assert [r for _, _, r in steering.watermarks(shop)[0]] == [None, None]


@pytest.mark.parametrize(
    ("entity", "value", "message"),
    [
        ("shop.orders", "soon", "shop.orders: --to 'soon' is not a valid value"),
        ("shop.orders:d", "2026-03-02", "'shop.orders:d': a run type suffix means nothing here"),
        ("shop.*", "2026-03-02", "--entity 'shop.*' must name exactly one entity"),
        ("shop.customers", "1", "shop.customers has no watermark configured"),
    ],
)
def test_setting_a_watermark_refuses_what_journal_set_refuses(
    shop: Path, entity: str, value: str, message: str
) -> None:
    with pytest.raises(UsageError) as refused:
        steering.set_watermark(shop, entity, value, "by hand")

    assert message in refused.value.message
    assert refused.value.exit_code == 2
    assert not (shop / ".hygge/journal.db").exists()  # nothing was changed


def test_history_lists_entity_runs_newest_first(shop: Path) -> None:
    hygge.run(shop)
    add_orders(shop, range(100, 103), T0 + timedelta(days=1), "b")
    hygge.run(shop, entities=["shop.orders"])

    runs = steering.history(shop, "shop.orders")

    assert [(r.rows_written, r.status) for r in runs] == [(3, "success"), (100, "success")]
    with pytest.raises(UsageError, match="a run type suffix means nothing here"):
        steering.history(shop, "shop.orders:i")
