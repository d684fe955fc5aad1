"""The PostgreSQL home's read window, against a live server: its values stay bound, its
bounds compare exactly, and a windowed read streams like one without a window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import adbc_driver_postgresql.dbapi as dbapi
import polars as pl
import pytest

from hygge.engines.dialect import SLOT
from hygge.engines.postgres import streamed
from hygge.plugin import Window
from hygge.watermark import Mark
from tests.engines import Postgres, table_of

WIDE_ROWS = 200_000  # about 80 MB of text: far more than the driver and the sockets buffer


@pytest.fixture
def engine(postgres_url: str) -> Postgres:
    return Postgres(postgres_url)


def _sql(engine: Postgres, *statements: str) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    with dbapi.connect(engine.url, autocommit=True) as con, con.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
            rows = cur.fetchall() if cur.description else []
    return rows


def test_a_windowed_read_yields_its_first_batch_while_the_server_still_sends(
    engine: Postgres, tmp_path: Path
) -> None:
    """Bound window values once made the driver hold the whole result in memory before the
    first batch (2.4 GB for 8M rows). Now, when the first batch arrives, the server is still
    running the read, and the window keeps its boundary rows and no others."""
    table = table_of(tmp_path)
    _sql(
        engine,
        f"CREATE TABLE {table} (id bigint NOT NULL, pad text)",
        f"INSERT INTO {table} SELECT g, repeat(md5(g::text), 12)"
        f" FROM generate_series(1, {WIDE_ROWS}) AS g",
    )
    home = engine.home(tmp_path, table=table)
    window = Window("id", Mark("int", 2), Mark("int", WIDE_ROWS - 1))
    batches = home.batches(window, 10_000)
    first = next(batches)
    running = _sql(
        engine,
        "SELECT state FROM pg_stat_activity WHERE backend_type = 'client backend'"
        " AND pid <> pg_backend_pid()"
        f" AND query LIKE '%{table}%' AND query NOT LIKE '%pg_stat_activity%'",
    )
    frames = [first, *batches]
    assert running == [("active",)]
    assert max(frame.height for frame in frames) <= 10_000
    ids = pl.concat(frames)["id"].sort().to_list()
    assert ids == list(range(2, WIDE_ROWS))  # both bounds included, 1 and the last left out


def test_a_streamed_read_carries_its_values_as_parameters_never_in_its_sql() -> None:
    value, stamp = "x'); DROP TABLE t; --", datetime(2026, 1, 1, tzinfo=UTC)
    binding, query = streamed(
        f'SELECT * FROM "t" WHERE "c" >= {SLOT} OR "d" < {SLOT}', [value, stamp]
    )
    assert binding == (
        "SELECT set_config('hygge.bound_1', $1::text, false),"
        " set_config('hygge.bound_2', $2::text, false)",
        [value, stamp],
    )
    assert query == (
        'SELECT * FROM "t" WHERE "c" >= current_setting(\'hygge.bound_1\')::text'
        " OR \"d\" < current_setting('hygge.bound_2')::timestamp with time zone"
    )
    assert streamed('SELECT * FROM "t" WHERE TRUE', []) == (None, 'SELECT * FROM "t" WHERE TRUE')


def test_a_string_window_with_quotes_stays_bound(engine: Postgres, tmp_path: Path) -> None:
    """A watermark value holding quotes and SQL is compared as a value, never run."""
    table = table_of(tmp_path)
    names = ["a", "it's", "o'; DROP TABLE {t}; --", "p\\'", "z"]
    frame = pl.DataFrame({"name": [n.format(t=table) for n in names]})
    engine.create(tmp_path, table, frame)
    home = engine.home(tmp_path, table=table)
    lower, upper = Mark("string", frame["name"][1]), Mark("string", frame["name"][3])
    rows = pl.concat(home.batches(Window("name", lower, upper), 10))
    assert sorted(rows["name"]) == frame["name"][1:4].to_list()
    assert _sql(engine, f"SELECT count(*) FROM {table}") == [(5,)]


@pytest.mark.parametrize(
    ("declared", "values"),
    [
        ("bigint", [-(2**63), 0, 2**62, 2**63 - 1]),
        ("numeric(12,2)", [Decimal("-0.01"), Decimal("0.10"), Decimal("0.11"), Decimal("9.99")]),
        ("date", [date(1, 1, 1), date(2026, 1, 1), date(2026, 1, 2), date(9999, 12, 31)]),
        ("timestamp", [datetime(2026, 1, 1) + timedelta(microseconds=n) for n in range(4)]),
        (
            "timestamptz",
            [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=n) for n in range(4)],
        ),
    ],
)
def test_window_bounds_one_value_apart_keep_exactly_the_rows_between(
    engine: Postgres, tmp_path: Path, declared: str, values: list[object]
) -> None:
    """Each kind of watermark, bound through the session's settings and cast back, compares
    as the column's own value: microseconds, a decimal's scale, the extremes of bigint."""
    table = table_of(tmp_path)
    _sql(engine, f"CREATE TABLE {table} (v {declared}, n int)")
    with dbapi.connect(engine.url, autocommit=True) as con, con.cursor() as cur:
        for n, value in enumerate(values):
            cur.execute(f"INSERT INTO {table} VALUES ($1, $2)", [value, n])
        cur.execute(f"INSERT INTO {table} VALUES (NULL, 9)")
    home = engine.home(tmp_path, table=table)
    column = pl.concat(home.batches(Window.everything(), 10)).sort("n")["v"]
    lower, upper = (Mark.max_of(column.slice(n, 1)) for n in (1, 2))
    rows = pl.concat(home.batches(Window("v", lower, upper), 10))
    assert sorted(rows["n"]) == [1, 2, 9]  # NULL rows are read too, for the flow to count
    assert home.column_bounds("v")[1] == Mark.max_of(column)
