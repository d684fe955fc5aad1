"""Columns named with quote characters, spaces and non-ASCII letters, on every SQL engine.

Every identifier hygge writes into SQL goes through the engine's own quoting: a home's window
(bounds and NULL arm), its high mark, and a store's DDL, inserts and merge keys. A name holding
another engine's quote character is the case a text patch of the SQL gets wrong: MySQL once
read `"we""ird"` as a string literal, so the window compared a constant and no row came.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

import hygge
from hygge.testing.contracts import assert_same_rows
from tests.conftest import EngineProject, run_ok
from tests.engines import ENGINES, Engine, engine_named

KEY, STAMP = "back`tick", 'we"ird'
ODD = [KEY, STAMP, "br]acket", "with space", "Ünïcødé"]


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> Engine:
    return engine_named(request)


def rows(engine: Engine, ids: range, note: str = "") -> pl.DataFrame:
    """One row per id, stamped id hours after the engine's first stamp."""
    base = engine.first_stamp
    return pl.DataFrame(
        {
            KEY: list(ids),
            STAMP: [base.replace(hour=n) for n in ids],
            "br]acket": [f"b{n}{note}" for n in ids],
            "with space": [f"s {n}" for n in ids],
            "Ünïcødé": [f"ü{n}" for n in ids],
        },
        schema={
            KEY: pl.Int64,
            STAMP: pl.Datetime(engine.stamp_unit),
            "br]acket": pl.String,
            "with space": pl.String,
            "Ünïcødé": pl.String,
        },
    )


def moved(root: Path) -> int:
    """Rows the one entity of a run moved; the run must succeed."""
    result = hygge.run(root)
    assert result.exit_code == 0, [(r.address, r.error) for r in result.entities]
    return result.rows


def test_a_window_on_an_oddly_named_column_reads_each_row_once(
    engine: Engine, project: EngineProject
) -> None:
    """A home of the engine, so the window on `we"ird` is pushed down as SQL there."""
    source = "s_" + os.urandom(6).hex()
    root, table = project("watermark: {column: 'we\"ird'}\n", home=engine.home_yaml(source))
    engine.fill(root, source, rows(engine, range(0, 3)))
    assert moved(root) == 3
    engine.fill(root, source, rows(engine, range(0, 5)))
    assert moved(root) == 2  # only the new rows
    assert moved(root) == 0
    loaded = engine.read(root, table)
    assert loaded is not None and loaded.columns == ODD
    assert_same_rows(loaded, rows(engine, range(0, 5)))


@pytest.mark.parametrize("run_type", ["full_drop", "merge"])
def test_a_store_writes_oddly_named_columns_and_merges_on_them(
    engine: Engine, project: EngineProject, run_type: str
) -> None:
    key = "primary_key: ['back`tick']\n" if run_type == "merge" else ""
    extra = f"run_type: {run_type}\n{key}"
    root, table = project(extra)
    rows(engine, range(0, 3)).write_parquet(root / "data/x.parquet")
    run_ok(root)
    changed = rows(engine, range(2, 5), note=" changed")
    changed.write_parquet(root / "data/x.parquet")
    run_ok(root)
    kept = rows(engine, range(0, 2)) if run_type == "merge" else changed.clear()
    assert_same_rows(engine.read(root, table), pl.concat([kept, changed]))
