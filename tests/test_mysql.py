"""What only the MariaDB/MySQL home and store do, against a live server (what every SQL engine
does: tests/test_sql_engines.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import hygge
from hygge.plugin import Commit, LoadRun, Window
from hygge.testing import sample
from hygge.testing.contracts import assert_same_rows
from tests import proc
from tests.conftest import EngineProject, run_ok
from tests.engines import MySql, over_precision
from tests.mariadb import connect
from tests.test_contracts import store


@pytest.fixture
def engine(mariadb_url: str) -> MySql:
    return MySql(mariadb_url)


def test_a_wrong_password_never_shows_the_password(tmp_path: Path, mariadb_url: str) -> None:
    bad = mariadb_url.replace("hygge-test-pw", "canary-secret")
    problems = store("mysql", tmp_path, url=bad, table="x").check()
    assert problems and "Access denied" in problems[0]
    assert "canary-secret" not in " ".join(problems)


def ids_table(engine: MySql, table: str, ids: range) -> None:
    """A table of bigint ids and longtext names."""
    engine.create(Path("."), table, pl.DataFrame({"id": ids, "name": [f"row {n}" for n in ids]}))


def watermarked(engine: MySql, project: EngineProject) -> tuple[Path, str, str]:
    """A full_drop flow from a mysql source table (ids 1..3) with `watermark: {column: id}`."""
    source = "s_" + os.urandom(6).hex()
    flow = "run_type: full_drop\nwatermark: {column: id}\n"
    root, table = project(flow, home=engine.home_yaml(source))
    ids_table(engine, source, range(1, 4))
    return root, table, source


def go(root: Path, failpoint: str | None = None) -> None:
    env = {"HYGGE_FAILPOINT": failpoint} if failpoint else {}
    done = proc.run(root, "go", env=env)
    assert done.returncode == (99 if failpoint else 0), done.stdout + done.stderr


def assert_an_incremental_run_loads_on(engine: MySql, root: Path, table: str, source: str) -> None:
    """Ids 6 and 7 join the source and the flow turns incremental: its next run loads them
    (and no row twice), leaving no stage behind."""
    ids_table(engine, source, range(1, 8))
    flow = root / "flows/x/flow.yml"
    flow.write_text(flow.read_text().replace("full_drop", "incremental"), encoding="utf-8")
    go(root)
    assert loaded_ids(engine, table) == [1, 2, 3, 4, 5, 6, 7]
    assert engine.stages_left(root, table) == []


def loaded_ids(engine: MySql, table: str) -> list[int]:
    loaded = engine.read(Path("."), table)
    assert loaded is not None
    return sorted(loaded["id"].to_list())


@pytest.mark.parametrize("first", [True, False], ids=["first-load", "replacing"])
def test_a_full_drop_killed_after_its_rename_is_adopted_so_no_row_loads_twice(
    first: bool, engine: MySql, project: EngineProject
) -> None:
    """Killed between the RENAME and the journal's commit: the swap record written before the
    RENAME counts (the table's comment names its run), so the next run starts at its mark."""
    root, table, source = watermarked(engine, project)
    if not first:
        go(root)
    ids_table(engine, source, range(1, 6))
    go(root, failpoint="after_swap")
    assert loaded_ids(engine, table) == [1, 2, 3, 4, 5]  # published, never committed
    assert_an_incremental_run_loads_on(engine, root, table, source)


def test_a_full_drop_killed_before_its_rename_is_not_adopted(
    engine: MySql, project: EngineProject
) -> None:
    """Killed after its swap record commits but before the RENAME: the record never counts,
    so the next incremental run reads on from the last published mark (nothing lost)."""
    root, table, source = watermarked(engine, project)
    go(root)
    target = engine.store(root, table)
    published = target.last_commit()
    ids_table(engine, source, range(1, 6))
    go(root, failpoint="before_swap")
    assert loaded_ids(engine, table) == [1, 2, 3]
    assert target.last_commit() == published
    with connect(engine.url) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM _hygge_commits WHERE swap AND destination LIKE %s",
                    [f"%.{table}"])  # fmt: skip
        assert cur.fetchone()[0] == 2  # the crashed run's record is there, and ignored
    assert_an_incremental_run_loads_on(engine, root, table, source)


def test_a_commits_table_of_an_earlier_version_gets_the_swap_column(
    engine: MySql, tmp_path: Path
) -> None:
    """Records written before `swap` existed still count; the next full_drop adds the column."""
    database = "d_" + os.urandom(6).hex()
    with connect(engine.url) as con, con.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}`")
        cur.execute(
            f"CREATE TABLE `{database}`._hygge_commits (run_id varchar(255) NOT NULL,"
            " destination varchar(255) NOT NULL, published_at datetime(6) NOT NULL,"
            " watermark longtext, state longblob)"
        )
        cur.execute(
            f"INSERT INTO `{database}`._hygge_commits VALUES"
            " ('old-run', %s, '2026-01-01 00:00:00', NULL, NULL)",
            [f"{database}.dest"],
        )
    target = engine.store(tmp_path, "dest", schema=database)
    old = target.last_commit()
    assert old is not None and old.run_id == "old-run"
    load = target.begin(LoadRun("new-run", "full_drop"))
    load.write(sample(3))
    load.publish(Commit("new-run", datetime(2026, 2, 1, tzinfo=UTC)))
    new = target.last_commit()
    assert new is not None and new.run_id == "new-run"
    assert_same_rows(engine.read(tmp_path, "dest", schema=database), sample(3))


def test_decimals_wider_than_38_digits_arrive_as_their_exact_text(
    engine: MySql, tmp_path: Path
) -> None:
    """Polars holds 38 digits; decimal(65,30) used to stop it with a panic."""
    source = "w_" + os.urandom(6).hex()
    wide = "12345678901234567890123456789012345.123456789012345678901234567890"
    with connect(engine.url) as con, con.cursor() as cur:
        cur.execute(f"CREATE TABLE {source} (id int, amount decimal(65,30))")
        cur.execute(f"INSERT INTO {source} VALUES (1, {wide}), (2, NULL)")
        con.commit()
    reader = engine.home(tmp_path, table=source)
    rows = pl.concat(reader.batches(Window.everything(), 10)).sort("id")
    assert rows["amount"].to_list() == [wide, None]
    assert reader.schema()["amount"] == pl.String


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (
            pl.Series("day", [0, 3_000_000], pl.Int32).cast(pl.Date),
            "column 'day' (date) of batch 1 holds a value MySQL refuses (row 2 of the load):"
            " Data truncated (warning 1265), LOAD DATA would store it changed; the value:"
            " 3000000 days from 1970-01-01",
        ),
        (
            pl.Series("at", [0, 300_000_000_000_000_000], pl.Int64).cast(pl.Datetime("us")),
            "column 'at' (datetime(6)) of batch 1 holds a value MySQL refuses (row 2 of the"
            " load): Data truncated (warning 1265), LOAD DATA would store it changed; the"
            " value: 300000000000000000 us from 1970-01-01",
        ),
        (
            over_precision(),
            "column 'amount' (decimal(5,2)) of batch 1 holds a value MySQL refuses (row 1 of the"
            " load): Out of range value (warning 1264), LOAD DATA would store it changed; the"
            " value: 12345.67",
        ),
    ],
    ids=["date", "datetime", "decimal"],
)
def test_a_value_load_data_would_change_fails_the_load_naming_it(
    engine: MySql, project: EngineProject, column: pl.Series, message: str
) -> None:
    """LOAD DATA LOCAL turns what it cannot store into a warning and stores something else (a
    zero date, a decimal clamped to 999.99). The load fails at the batch instead, naming the
    column and the value, and the old rows stay."""
    root, table = project("run_type: full_drop\n")
    sample(2).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(2).with_columns(column).write_parquet(root / "data/x.parquet")
    result = hygge.run(root)
    (entity,) = result.entities
    assert result.exit_code == 1 and entity.status == "failed", entity
    assert entity.error is not None and entity.error.endswith(message), entity.error
    assert_same_rows(engine.read(root, table), sample(2))
    assert engine.stages_left(root, table) == []


def test_a_table_read_whole_tells_innodbs_row_estimate(engine: MySql, tmp_path: Path) -> None:
    """Progress's expected total, from information_schema's table_rows (InnoDB's estimate,
    exact for a small table once analyzed)."""
    source = "s_" + os.urandom(6).hex()
    engine.create(tmp_path, source, sample(250))
    with connect(engine.url) as con, con.cursor() as cur:
        cur.execute(f"ANALYZE TABLE `{source}`")
        cur.fetchall()
    reader = engine.home(tmp_path, table=source)
    assert reader.estimate_rows(Window.everything()) == 250
    qualified = engine.home(tmp_path, table=f"{engine.schema}.{source}")
    assert qualified.estimate_rows(Window.everything()) == 250


def mariadb_names(url: str) -> str:
    """hygge.yml with two connections to the test server (on 127.0.0.1), one by localhost."""
    port = url.rsplit(":", 1)[1].split("/")[0]
    return f"""\
name: test
connections:
  one: {{type: mysql, url: "${{MYSQL_URL}}"}}
  two: {{type: mysql, host: localhost, port: {port}, database: hygge, user: hygge,
         password: "${{MYSQL_PASSWORD}}"}}
"""


def writes(connection: str, table: str) -> str:
    return (
        f"home: {{type: parquet, path: data/{connection}.parquet}}\n"
        f"store: {{type: mysql, connection: {connection}, table: {table}}}\n"
        "run_type: full_drop\nbatch_rows: 10\n"
    )


def two_projects(engine: MySql, tmp_path: Path, table: str) -> list[Path]:
    """Two projects, each writing `table` through its own connection name."""
    roots = []
    for name in ("one", "two"):
        root = tmp_path / name
        (root / "flows/orders").mkdir(parents=True)
        (root / "hygge.yml").write_text(mariadb_names(engine.url))
        (root / "flows/orders/flow.yml").write_text(writes(name, table))
        (root / "data").mkdir()
        sample(30).write_parquet(root / f"data/{name}.parquet")
        roots.append(root)
    return roots


@pytest.fixture
def mariadb_env(engine: MySql, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYSQL_URL", engine.url)
    monkeypatch.setenv("MYSQL_PASSWORD", "hygge-test-pw")


@pytest.mark.usefixtures("mariadb_env")
def test_localhost_and_127_0_0_1_are_one_server_to_the_plan(engine: MySql, tmp_path: Path) -> None:
    table = "t_" + os.urandom(6).hex()
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "hygge.yml").write_text(mariadb_names(engine.url))
    for flow, connection, name in (("orders", "one", table), ("other", "two", table.upper())):
        (root / "flows" / flow).mkdir(parents=True)
        (root / "flows" / flow / "flow.yml").write_text(writes(connection, f"hygge.{name}"))
        sample(3).write_parquet(root / f"data/{connection}.parquet")

    result = proc.run(root, "go")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "orders.orders and other.other write the same destination" in result.stderr
    assert f"mysql one#hygge.{table} and mysql two#hygge.{table.upper()}" in result.stderr
    assert engine.read(root, table) is None


@pytest.mark.usefixtures("mariadb_env")
def test_a_table_written_by_localhost_is_locked_against_127_0_0_1_across_processes(
    engine: MySql, tmp_path: Path
) -> None:
    table = "t_" + os.urandom(6).hex()
    one, two = two_projects(engine, tmp_path, table)
    held_pid, held_code, other = proc.go_beside_a_paused_go(one, two, tmp_path / "paused")

    assert held_code == 0
    assert other.returncode == 75, other.stdout + other.stderr
    line = " ".join(other.stdout.split())
    assert f"skipped (writing mysql two#hygge.{table}): held by pid {held_pid}" in line
    assert f"for orders.orders writing mysql one#hygge.{table}" in line
    assert "hygge-test-pw" not in other.stdout + other.stderr
    assert_same_rows(engine.read(tmp_path, table), sample(30))
