"""A large PostgreSQL table is read in ranges on two connections without `partition:` when
the pool has one to spare: every row exactly once, whatever the key's spread or NULLs."""

from __future__ import annotations

import logging
from pathlib import Path

import adbc_driver_postgresql.dbapi as dbapi
import polars as pl
import pytest

from hygge.homes import postgres
from hygge.plugin import Context, Home, Window
from hygge.pool import Pools
from hygge.registry import home_class
from hygge.watermark import Mark
from tests.engines import Postgres, table_of

# Skewed: all but one key in the lower half of [min, max]; and keys that are NULL.
KEYS = [*range(1, 3001), 10**12, None, None, None]
ROWS = pl.DataFrame(
    {"id": KEYS, "name": [f"n{k}" for k in KEYS]}, schema={"id": pl.Int64, "name": pl.String}
)


@pytest.fixture
def table(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """ROWS in a table whose nullable id has a unique index, analysed, counted as large."""
    name = table_of(tmp_path)
    Postgres(postgres_url).create(tmp_path, name, ROWS)
    with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE UNIQUE INDEX ON {name} (id)")
        cur.execute(f"ANALYZE {name}")
    monkeypatch.setattr(postgres, "AUTO_ROWS", 1000)
    return name


def source(tmp_path: Path, url: str, table: str, pools: Pools) -> Home:
    cls = home_class("postgres")
    config = cls.Config.model_validate(
        {"type": "postgres", "connection": "w", "url": url, "table": table}
    )
    return cls(config, Context(root=tmp_path, flow="f", entity="e", pools=pools))


def read(home: Home, window: Window, caplog: pytest.LogCaptureFixture) -> tuple[pl.DataFrame, str]:
    """Every row the home gives, and what it logged about ranges (its decision to split)."""
    with caplog.at_level(logging.DEBUG, logger=postgres.__name__):
        got = pl.concat(list(home.batches(window, 500)))
    return got, " ".join(r.getMessage() for r in caplog.records if "ranges" in r.getMessage())


def rows_once(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert got.height == expected.height
    order = [pl.col("id"), pl.col("name")]
    assert got.sort(order, nulls_last=True).equals(expected.sort(order, nulls_last=True))


def test_a_large_table_with_a_skewed_nullable_key_reads_every_row_once_in_ranges(
    tmp_path: Path, postgres_url: str, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    pools = Pools({"w": 4})
    got, said = read(source(tmp_path, postgres_url, table, pools), Window.everything(), caplog)

    rows_once(got, ROWS)
    assert "read in 2 ranges of id" in said
    assert pools.get("w", lambda: None).opened <= 2  # the entity's own and the spare one
    assert pools.reserve({"w": 4})  # the spare connection was given back
    pools.close()


def test_a_first_incremental_window_splits_and_keeps_its_upper_bound(
    tmp_path: Path, postgres_url: str, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    pools = Pools({"w": 4})
    window = Window(column="id", upper=Mark("int", 2000))
    got, said = read(source(tmp_path, postgres_url, table, pools), window, caplog)

    rows_once(got, ROWS.filter(pl.col("id").le(2000) | pl.col("id").is_null()))
    assert "read in 2 ranges of id" in said
    pools.close()


@pytest.mark.parametrize(
    ("pool_size", "window"),
    [
        (1, Window.everything()),  # no connection to spare
        (4, Window(column="id", lower=Mark("int", 2990), upper=Mark("int", 10**12))),  # new rows
    ],
)
def test_one_read_without_a_spare_connection_or_for_an_incremental_window(
    pool_size: int,
    window: Window,
    tmp_path: Path,
    postgres_url: str,
    table: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pools = Pools({"w": pool_size})
    got, said = read(source(tmp_path, postgres_url, table, pools), window, caplog)

    lower = window.lower.value if window.lower else 0
    rows_once(got, ROWS.filter(pl.col("id").ge(lower) | pl.col("id").is_null()))
    assert said == ""
    assert pools.get("w", lambda: None).opened == 1
    pools.close()


def test_a_small_table_reads_in_one_go(
    tmp_path: Path,
    postgres_url: str,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(postgres, "AUTO_ROWS", 1_000_000)
    pools = Pools({"w": 4})
    got, said = read(source(tmp_path, postgres_url, table, pools), Window.everything(), caplog)

    rows_once(got, ROWS)
    assert said == ""
    pools.close()
