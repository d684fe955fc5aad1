"""Live PostgreSQL and MariaDB: what a concurrent reader sees during a full_drop publish held
at its failpoint, and incremental runs with late rows and a lookback."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as dbapi
import polars as pl
import pytest

from hygge.testing import sample
from tests import proc
from tests.conftest import EngineProject, read_lake, run_ok
from tests.engines import Engine, engine_named
from tests.mariadb import connect as mysql_connect

LOCKED = "lock timeout"  # what a PostgreSQL reader records when the publish's lock held it off


def flow_project(make_project: Any, connection: str, flow: str) -> Path:
    files = {
        "hygge.yml": f"name: test\nconnections:\n  db: {connection}\n",
        "flows/x/flow.yml": flow,
    }
    root: Path = make_project(files)
    (root / "data").mkdir(exist_ok=True)
    return root


def pg_count(url: str, schema: str, table: str) -> int | str:
    with dbapi.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute("SET lock_timeout = '150ms'")
        try:
            cur.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
            return int(cur.fetchone()[0])
        except dbapi.Error as exc:
            if "55P03" in str(exc) or "lock timeout" in str(exc):
                return LOCKED
            raise


def mysql_count(url: str, table: str) -> int | str:
    with mysql_connect(url) as con, con.cursor() as cur:
        cur.execute("SET SESSION lock_wait_timeout = 5")
        cur.execute(f"SELECT count(*) FROM `{table}`")
        return int(cur.fetchone()[0])


def readers_during_publish(
    make_project: Any,
    tmp_path: Path,
    connection: str,
    store: str,
    count: Callable[[], Any],
    point: str = "sql_before_commit",
) -> tuple[list[Any], list[Any], list[Any]]:
    """Load 10 rows, then publish 4 in a real process held at failpoint `point` while readers
    poll the destination: (seen by a poller throughout, seen while held, seen after)."""
    root = flow_project(
        make_project,
        connection,
        f"home: {{type: parquet, path: data/x.parquet}}\nstore: {store}\nrun_type: full_drop\n",
    )
    sample(10).write_parquet(root / "data/x.parquet")
    run_ok(root)
    assert count() == 10
    sample(4).write_parquet(root / "data/x.parquet")
    polled: list[Any] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                polled.append(count())
            except Exception as exc:  # a missing table is a finding, not a crash
                polled.append(repr(exc))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    marker = tmp_path / "paused"
    try:
        runner = proc.start_paused(root, marker, "go", point=point)
        try:
            held = [count() for _ in range(3)]
        finally:
            marker.unlink()
        status, out, err = proc.finish(runner)
    finally:
        stop.set()
        poller.join(timeout=30)
    assert status == 0, out + err
    return polled, held, [count() for _ in range(2)]


def test_postgres_reader_during_full_drop_publish_sees_old_rows_or_waits(
    make_project: Any,
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Held before COMMIT the publish holds the ACCESS EXCLUSIVE lock of its DROP, so a reader
    either still gets in with the old count (before the DROP) or times out on the lock; it
    never sees a missing table, an empty one or a partial count. After the COMMIT: the new."""
    monkeypatch.setenv("PG_URL", postgres_url)
    schema = "s_" + os.urandom(6).hex()
    connection = '{type: postgres, url: "${PG_URL}"}'
    store = f"{{type: postgres, connection: db, schema: {schema}, table: dest}}"
    polled, held, after = readers_during_publish(
        make_project, tmp_path, connection, store, lambda: pg_count(postgres_url, schema, "dest")
    )
    assert set(held) <= {10, LOCKED}, held
    assert set(polled) <= {10, 4, LOCKED}, polled
    assert after == [4, 4]


def test_mariadb_reader_during_full_drop_publish_sees_old_or_new_never_partial(
    make_project: Any,
    tmp_path: Path,
    mariadb_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Held right after the atomic RENAME (the new rows are in, the old table not yet
    dropped, the journal not yet told), readers see the new 4 rows; before and after, the old
    10 or the new 4, never a missing table or a mix."""
    table = "dest"  # in a database of this test's own
    database = "d_" + os.urandom(6).hex()
    with mysql_connect(mariadb_url) as con, con.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}`")
    url = mariadb_url.rsplit("/", 1)[0] + "/" + database
    monkeypatch.setenv("MYSQL_URL", url)
    connection = '{type: mysql, url: "${MYSQL_URL}"}'
    store = f"{{type: mysql, connection: db, table: {table}}}"
    polled, held, after = readers_during_publish(
        make_project, tmp_path, connection, store, lambda: mysql_count(url, table), "after_swap"
    )
    assert polled and held == [4, 4, 4], held
    assert set(polled) <= {10, 4}, polled
    assert after == [4, 4]


BASE = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def late_and_new_rows() -> tuple[list[tuple[int, datetime]], list[tuple[int, datetime]]]:
    """First load (the watermark ends at BASE; some rows lie within the hour before it), then
    late rows 30 minutes behind the watermark, one at it, and new rows past it."""
    minutes = [-300, -120, -50, -20, -1, 0]
    first = [(n + 1, BASE + timedelta(minutes=m)) for n, m in enumerate(minutes)]
    later = [
        (7, BASE - timedelta(minutes=30)),
        (8, BASE - timedelta(minutes=30)),
        (9, BASE),
        (10, BASE + timedelta(minutes=10)),
        (11, BASE + timedelta(hours=1)),
    ]
    return first, later


def assert_lake_equals(root: Path, rows: list[tuple[int, datetime]]) -> None:
    lake = read_lake(root / "lake").sort("id")
    assert lake["id"].to_list() == sorted(r[0] for r in rows), lake
    stamps = [s.replace(tzinfo=UTC) if s.tzinfo is None else s for s in lake["updated_at"]]
    assert stamps == [r[1] for r in sorted(rows)]


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Engine:
    return engine_named(request)


@pytest.mark.parametrize("engine", ["postgres", "mysql"], indirect=True)
def test_incremental_with_lookback_loads_late_rows_once(
    engine: Engine, project: EngineProject
) -> None:
    """The source's updated_at is zoned (timestamptz); in MariaDB, whose DATETIME holds no
    zone, it is naive UTC, and the lake's stamps are compared as UTC either way."""
    source = "src_" + os.urandom(6).hex()
    root, _ = project(
        "run_type: incremental\nwatermark: {column: updated_at, lookback: 1h}\n",
        home=engine.home_yaml(source),
        store="{type: parquet, path: lake}",
    )
    first, later = late_and_new_rows()
    engine.create(root, source, rows_frame(first))
    run_ok(root)
    assert_lake_equals(root, first)
    engine.create(root, source, rows_frame(first + later))
    run_ok(root)
    run_ok(root)  # nothing new: the lookback re-reads the last hour and drops it
    assert_lake_equals(root, first + later)


def rows_frame(rows: list[tuple[int, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"id": pl.Int64, "updated_at": pl.Datetime("us", "UTC")}, orient="row"
    )
