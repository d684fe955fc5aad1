"""Reconciliation: after publishing, the destination's own count of the load's rows must
match what the flow wrote; otherwise the entity fails loudly, though its rows are published."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from tests import proc

FLOW = """\
home: {type: parquet, path: data}
store: {type: sqlite, path: shop.db, table: orders}
watermark: {column: updated_at}
"""


def test_rows_lost_between_staging_and_publishing_fail_the_entity(
    make_project, tmp_path: Path
) -> None:
    root = make_project({"flows/shop/flow.yml": FLOW})
    (root / "data").mkdir()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    pl.DataFrame({"id": range(10), "updated_at": [at] * 10}).write_parquet(root / "data/a.parquet")
    marker = tmp_path / "held"
    run = proc.start_paused(root, marker, "go", "--json", point="before_publish")
    with sqlite3.connect(root / "shop.db") as con:  # another writer takes a staged row away
        (stage,) = con.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '_hygge_stage#%'"
        ).fetchone()
        con.execute(f'DELETE FROM "{stage}" WHERE id = 3')
    marker.unlink()
    code, out, err = proc.finish(run)

    assert code == 1, err
    entity = json.loads(out)["entities"][0]
    assert entity["status"] == "failed"
    assert "10 rows were written to" in entity["error"]
    assert "it reports 9 from this load after publishing" in entity["error"]
    assert ":d to replace it" in entity["hint"]
    with sqlite3.connect(root / "shop.db") as con:  # published all the same, watermark moved
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (9,)
    shown = proc.run(root, "journal", "show", "--json")
    assert json.loads(shown.stdout)["watermarks"][0]["value"].startswith("2026-12-01")


def test_a_load_whose_counts_agree_succeeds(make_project) -> None:
    root = make_project({"flows/shop/flow.yml": FLOW})
    (root / "data").mkdir()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    pl.DataFrame({"id": range(10), "updated_at": [at] * 10}).write_parquet(root / "data/a.parquet")
    result = proc.run(root, "go", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["entities"][0]["rows"] == 10


FILE_FLOW = """\
home: {type: parquet, path: data}
store: {type: parquet, path: lake, file_rows: 4}
watermark: {column: updated_at}
"""


def test_a_staged_file_lost_before_publishing_fails_a_file_store_entity(
    make_project, tmp_path: Path
) -> None:
    root = make_project({"flows/shop/flow.yml": FILE_FLOW})
    (root / "data").mkdir()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    pl.DataFrame({"id": range(10), "updated_at": [at] * 10}).write_parquet(root / "data/a.parquet")
    marker = tmp_path / "held"
    run = proc.start_paused(root, marker, "go", "--json", point="before_publish")
    staged = sorted(root.glob(".lake.hygge-*/*.parquet"))  # the staging beside the lake
    assert len(staged) == 3  # files of 4, 4 and 2 rows
    staged[-1].unlink()  # something takes the last file (2 rows) away
    marker.unlink()
    code, out, err = proc.finish(run)

    assert code == 1, err
    entity = json.loads(out)["entities"][0]
    assert "10 rows were written to" in entity["error"]
    assert "it reports 8 from this load after publishing" in entity["error"]
