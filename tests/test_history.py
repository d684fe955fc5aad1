"""`hygge history`: run ids, statuses, rows, watermarks before and after, the one-off window,
filtered by run and status, readable at 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hygge.cli.scaffold import init_project
from tests import proc


@pytest.fixture
def ran(tmp_path: Path) -> tuple[Path, str, str]:
    """The demo run twice: everything (crm.customers failing on a broken row), then a
    one-off window of shop.orders. Returns the root and both run ids."""
    root = init_project(tmp_path / "demo").root
    (root / "data/crm/customers.csv").write_text("id,name\n1,a\n2,b,c,d\n")
    first = proc.run(root, "go", "--json")
    assert first.returncode == 1, first.stderr
    backfill = proc.run(
        root, "go", "--json", "-e", "shop.orders", "--from", "2026-03-01", "--to", "2026-03-31"
    )
    assert backfill.returncode == 0, backfill.stderr
    return root, json.loads(first.stdout)["run_id"], json.loads(backfill.stdout)["run_id"]


def _history(root: Path, *args: str) -> list[dict]:
    result = proc.run(root, "history", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_history_of_one_run_shows_its_window_and_watermarks(ran: tuple[Path, str, str]) -> None:
    root, first, second = ran
    (record,) = _history(root, "--run", second)
    assert record["entity"] == "shop.orders"
    assert record["backfill"] == "from 2026-03-01 to 2026-03-31"
    assert record["watermark_before"].startswith("2026-04")  # a backfill moves no watermark
    assert record["watermark_after"] is None
    earlier = _history(root, "--run", first[:20])  # a start of the id is enough
    assert {r["entity"] for r in earlier} == {
        "crm.customers",
        "shop.orders",
        "shop.products",
        "warehouse.orders",
    }
    orders = next(r for r in earlier if r["entity"] == "shop.orders")
    assert orders["watermark_before"] is None and orders["watermark_after"].startswith("2026-04")
    assert orders["backfill"] is None


def test_history_filters_by_status(ran: tuple[Path, str, str]) -> None:
    root, first, _ = ran
    (failed,) = _history(root, "--status", "failed")
    assert (failed["entity"], failed["run_id"]) == ("crm.customers", first)
    assert all(r["status"] == "success" for r in _history(root, "--status", "success"))


def test_an_unknown_run_is_a_usage_error_naming_it(ran: tuple[Path, str, str]) -> None:
    root, _, _ = ran
    result = proc.run(root, "history", "--run", "1999")
    assert result.returncode == 2
    assert "the journal has no run '1999'" in result.stderr


def test_history_stays_readable_at_80_columns(ran: tuple[Path, str, str]) -> None:
    root, _, second = ran
    result = proc.run(root, "history", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert any(line.strip().startswith(f"run {second}") for line in lines)
    assert any(line.strip() == "backfill from 2026-03-01 to 2026-03-31" for line in lines)
    assert any(line.strip().startswith("watermark - -> 2026-04") for line in lines)
    assert any(line.startswith("failed") and "crm.customers" in line for line in lines)
