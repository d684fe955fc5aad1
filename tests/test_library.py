"""The library does what the CLI does, refusing the same bad input with the same errors:
an orchestrator (Airflow, Dagster, Prefect) calls it without a command line."""

from __future__ import annotations

import inspect
import threading
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

import hygge
from hygge import steering
from hygge.cli import main
from hygge.errors import UsageError
from hygge.locks import Holder, entity_lock
from tests.conftest import data_files, read_lake
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


def lake(root: Path) -> pl.DataFrame:
    return read_lake(root / "lake/orders")


def test_a_dry_run_returns_the_plan_with_vars_and_suffixes_and_writes_nothing(shop: Path) -> None:
    plan = hygge.run(
        shop,
        entities="shop.orders:d",  # one name is one entity, not its letters
        variables=["flow.shop.batch_rows=7", "flow.shop.entities.orders.batch_rows=3"],
        dry_run=True,
    )

    assert isinstance(plan, hygge.Plan)
    (orders,) = plan.entities
    assert (orders.address, orders.run_type) == ("shop.orders", "full_drop")
    assert orders.settings.batch_rows == 3
    assert orders.provenance["batch_rows"] == "--var flow.shop.entities.orders.batch_rows=3"
    assert sorted(p.name for p in shop.iterdir()) == ["data", "flows", "hygge.yml"]


def test_run_applies_vars_by_entity_and_run_type_suffixes(shop: Path) -> None:
    first = hygge.run(shop, variables=["flow.shop.entities.orders.store.file_rows=10"])
    assert first.exit_code == 0, first.entities
    assert len(data_files(shop / "lake/orders")) == 10  # 100 rows, 10 a file
    assert len(data_files(shop / "lake/customers")) == 1  # the var was the entity's only

    again = hygge.run(shop, entities=["shop.orders:d"], run_type="i")  # the suffix wins
    assert [(r.address, r.run_type, r.rows) for r in again.entities] == [
        ("shop.orders", "full_drop", 100)
    ]
    assert lake(shop).height == 100  # replaced, not appended


def test_a_backfill_reads_its_window_and_keeps_the_watermark(shop: Path) -> None:
    hygge.run(shop)
    add_orders(shop, range(100, 110), T0 - timedelta(days=1), "late")
    before = steering.watermarks(shop, "shop.orders")[0]

    ran = hygge.run(
        shop,
        entities="shop.orders",
        backfill_from=date(2026, 2, 28),  # values as Python objects, or as the CLI's text
        backfill_to="2026-02-28T23:59:59Z",
    )

    assert [(r.address, r.rows) for r in ran.entities] == [("shop.orders", 10)]
    assert lake(shop).height == 110
    assert steering.watermarks(shop, "shop.orders")[0] == before
    assert hygge.run(shop, entities="shop.orders").entities[0].rows == 0


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"backfill_to": "2026-03-01"}, "--to needs --from"),
        ({"backfill_from": "2026-03-01", "entities": ()}, "--from needs a selection"),
        (
            {"backfill_from": "2026-03-01", "entities": "shop.orders:d"},
            "--from/--to cannot run with full_drop",
        ),
        (
            {"backfill_from": "2026-03-01", "entities": "shop.*"},
            "--from/--to need a watermark, which shop.customers has not",
        ),
        (
            {"backfill_from": "2026-03-02", "backfill_to": "2026-03-01T12:00:00Z"},
            "shop.orders: --from 2026-03-02 comes after --to 2026-03-01T12:00:00Z",
        ),
        ({"backfill_from": "3/1/2026"}, "shop.orders: --from '3/1/2026' is not a valid value"),
        ({"run_type": "ful_drop"}, "run_type 'ful_drop' is not a run type"),
        ({"concurrency": 0}, "concurrency 0 runs nothing"),
        ({"wait": -1}, "wait -1 is negative"),
        ({"entities": "shop.orders:m"}, "'merge' (from command line selection suffix) is not"),
        ({"variables": "flow.shpo.batch_rows=1"}, "did you mean 'shop'"),
    ],
)
def test_run_refuses_what_go_refuses_before_anything_runs(
    shop: Path, keywords: dict[str, object], message: str
) -> None:
    hygge.run(shop)
    runs = len(steering.history(shop))

    with pytest.raises(UsageError) as refused:
        hygge.run(shop, **{"entities": "shop.orders", **keywords})

    assert message in refused.value.message
    assert refused.value.exit_code == 2
    assert len(steering.history(shop)) == runs  # nothing ran


def test_a_dry_run_refuses_a_full_drop_window_but_reads_no_values(shop: Path) -> None:
    """A dry run reads nothing, so the window's values wait for the run; its rules do not."""
    plan = hygge.run(shop, dry_run=True, entities="shop.orders", backfill_from="3/1/2026")
    assert [e.address for e in plan.entities] == ["shop.orders"]
    with pytest.raises(UsageError, match="cannot run with full_drop"):
        hygge.run(shop, dry_run=True, entities="shop.orders", run_type="d", backfill_from="x")


def test_run_skips_a_held_entity_or_waits_for_it(shop: Path) -> None:
    other = entity_lock(shop, "shop.orders")
    assert other.try_acquire(Holder.me("someone-else", "hygge go (another one)"))
    try:
        skipped = hygge.run(shop, entities="shop.orders")
        assert skipped.exit_code == 75
        assert "someone-else" in (skipped.entities[0].locked_by or "")
    finally:
        threading.Timer(0.3, other.release).start()  # freed while the next run waits
    waited = hygge.run(shop, entities="shop.orders", wait=60)
    assert waited.exit_code == 0
    assert [(r.status, r.rows) for r in waited.entities] == [("success", 100)]


def test_every_option_of_go_is_a_keyword_of_run() -> None:
    """The command and the library cannot drift: an option `hygge go` gains that is not only
    about its output must reach `hygge.run()` too."""
    output_only = {"verbose", "quiet", "as_json"}
    keyword = {
        "project_dir": "project",
        "incremental": "run_type",
        "full_drop": "run_type",
        "wait_seconds": "wait",
    }
    options = {p.name for p in main.commands["go"].params if p.name} - output_only
    assert {keyword.get(o, o) for o in options} <= set(inspect.signature(hygge.run).parameters)
