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
from hygge.plugin import Window
from hygge.testing.contracts import assert_same_rows
from hygge.watermark import Mark
from tests.conftest import EngineProject, run_ok
from tests.engines import ENGINES, Engine, engine_named

KEY, STAMP = "back`tick", 'we"ird'
ODD = [KEY, STAMP, "br]acket", "with space", "Ünïcødé"]
ADDED = 'added "`] cöl'  # a column only the second run brings


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


SETTINGS = {
    "full_drop": "",
    "incremental": "watermark: {column: 'we\"ird'}\n",
    "merge": "primary_key: ['back`tick']\n",
}


@pytest.mark.parametrize("run_type", list(SETTINGS))
def test_a_store_writes_adds_and_merges_on_oddly_named_columns(
    engine: Engine, project: EngineProject, run_type: str
) -> None:
    """The second run brings a column of an odd name too, which the store adds."""
    root, table = project(f"run_type: {run_type}\n{SETTINGS[run_type]}")
    first = rows(engine, range(0, 3))
    first.write_parquet(root / "data/x.parquet")
    run_ok(root)
    new = rows(engine, range(3, 5)).with_columns(pl.lit("new").alias(ADDED))
    changed = rows(engine, range(2, 5), note=" changed").with_columns(pl.lit("new").alias(ADDED))
    second = pl.concat([first, new], how="diagonal") if run_type == "incremental" else changed
    second.write_parquet(root / "data/x.parquet")
    run_ok(root)
    expected = pl.concat([first.head(2), second], how="diagonal") if run_type == "merge" else second
    assert_same_rows(engine.read(root, table), expected)


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"], indirect=True)
def test_a_partitioned_read_keeps_the_window_on_an_oddly_named_column(
    engine: Engine, tmp_path: Path
) -> None:
    """Each range's predicate is the window's and the range's, both in the engine's quoting."""
    table = "p_" + os.urandom(6).hex()
    frame = rows(engine, range(0, 8)).with_columns(part=pl.col(KEY) % 3)
    engine.fill(tmp_path, table, frame)
    source = engine.home(tmp_path, table=table, partition={"column": "part", "count": 2})
    lower, upper = (Mark.max_of(frame[STAMP].slice(n, 1)) for n in (2, 6))
    read = pl.concat(source.batches(Window(STAMP, lower, upper), 2))
    assert_same_rows(read, frame.slice(2, 5))
