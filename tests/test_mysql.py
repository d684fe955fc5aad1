"""The MariaDB/MySQL home and store against a live server: contracts, round trips, whole runs."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl
import pymysql
import pytest
from polars.testing import assert_frame_equal

import hygge
from hygge.plugin import Commit, Home, LoadRun, Store, Window
from hygge.stores.mysql import MySqlStore
from hygge.testing import HomeContract, StoreContract, sample
from hygge.testing.contracts import assert_same_rows
from tests import proc
from tests.mariadb import mariadb_url  # noqa: F401  (the session's server, as a fixture)
from tests.test_contracts import home, store


def table_of(tmp_path: Path) -> str:
    """A table name of this test's own (tests share one database)."""
    return "t_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]


def connect(url: str) -> Any:
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname, port=parts.port, user=parts.username, password=parts.password,
        database=parts.path.lstrip("/"), autocommit=True, charset="utf8mb4",
    )  # fmt: skip


def create_table(url: str, table: str, ddl: str, rows: list[tuple[Any, ...]]) -> None:
    with connect(url) as con, con.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS `{table}`")
        cur.execute(f"CREATE TABLE `{table}` ({ddl})")
        if rows:
            slots = ", ".join(["%s"] * len(rows[0]))
            cur.executemany(f"INSERT INTO `{table}` VALUES ({slots})", rows)


def create_sample(url: str, table: str, frame: pl.DataFrame) -> None:
    create_table(url, table, "id bigint, name longtext", list(frame.iter_rows()))


def read_table(url: str, table: str) -> pl.DataFrame | None:
    reader = home("mysql", Path("."), url=url, table=table)
    with connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = %s", [table])
        if not cur.fetchone()[0]:
            return None
    batches = list(reader.batches(Window.everything(), 10_000))
    return pl.concat(batches) if batches else pl.DataFrame(schema=reader.schema())


def stage_tables(url: str) -> list[str]:
    with connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables")
        return [row[0] for row in cur.fetchall() if row[0].startswith("_hygge_stage")]


class Server:
    url: str

    @pytest.fixture(autouse=True)
    def _server(self, mariadb_url: str) -> None:  # noqa: F811
        self.url = mariadb_url


class TestMySqlHome(Server, HomeContract):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        create_sample(self.url, table_of(tmp_path), frame)
        return home("mysql", tmp_path, url=self.url, table=f"hygge.{table_of(tmp_path)}")

    def make_broken_home(self, tmp_path: Path) -> Home:
        return home("mysql", tmp_path, url=self.url, table="no_such_table")


class TestMySqlQueryHome(TestMySqlHome):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        create_sample(self.url, table_of(tmp_path), frame)
        # `%` in the query must survive the driver's parameter formatting.
        query = f"SELECT id, name FROM {table_of(tmp_path)} WHERE name LIKE '%' AND {{window}};"
        return home("mysql", tmp_path, url=self.url, query=query)


class TestMySqlStore(Server, StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return store("mysql", tmp_path, url=self.url, table=table_of(tmp_path))

    def make_broken_store(self, tmp_path: Path) -> Store:
        url = self.url.replace("hygge-test-pw", "wrong")
        return store("mysql", tmp_path, url=url, table=table_of(tmp_path))

    def read_back(self, store: Store) -> pl.DataFrame | None:
        assert isinstance(store, MySqlStore)
        return read_table(self.url, store.config.table)

    def leftovers(self, store: Store) -> list[str]:
        assert isinstance(store, MySqlStore)
        return [name for name in stage_tables(self.url) if store.is_own_stage(name)]

    def test_an_empty_full_drop_publishes_an_empty_destination(self, tmp_path: Path) -> None:
        """Overridden, as for PostgreSQL: a table needs columns, and a load that saw no frame
        has none, so a first empty full_drop publishes only its commit record."""
        store = self.make_store(tmp_path)
        self.load(store, "full_drop", run_id="run-1")
        assert self.read_back(store) is None
        commit = store.last_commit()
        assert commit is not None and commit.run_id == "run-1"
        self.load(store, "full_drop", sample(10), run_id="run-2")
        self.load(store, "full_drop", run_id="run-3")
        assert_same_rows(self.read_back(store), sample(0))
        self.load(store, "full_drop", sample(0), run_id="run-4")
        assert_same_rows(self.read_back(store), sample(0))
        assert self.leftovers(store) == []


def every_type() -> pl.DataFrame:
    """One column per type MySQL holds exactly, a NULL in every column."""
    rows: dict[str, tuple[pl.DataType, list[Any]]] = {
        "i8": (pl.Int8(), [-128, 127]),
        "i64": (pl.Int64(), [-(2**63), 2**63 - 1]),
        "u8": (pl.UInt8(), [0, 255]),
        "u32": (pl.UInt32(), [0, 2**32 - 1]),
        "u64": (pl.UInt64(), [0, 2**64 - 1]),
        "f32": (pl.Float32(), [1.5, -0.25]),
        "f64": (pl.Float64(), [1e300, -2.5e-300]),
        "dec": (pl.Decimal(18, 4), [Decimal("12345678901234.5678"), Decimal("-0.0001")]),
        "text": (pl.String(), ['Åse 🦆 ß 東京 "q", \\n NULL', "NULL"]),
        "flag": (pl.Boolean(), [True, False]),
        "day": (pl.Date(), [date(1000, 1, 1), date(9999, 12, 31)]),
        "ts": (pl.Datetime("us"), [datetime(1970, 1, 1), datetime(2026, 2, 3, 4, 5, 6, 789012)]),
        "blob": (pl.Binary(), [b'\x00\xff,"\n\\', b""]),
    }
    return pl.DataFrame(
        {name: [*values, None] for name, (_, values) in rows.items()},
        schema={name: dtype for name, (dtype, _) in rows.items()},
    )


PROJECT = """\
name: test
connections:
  db: {type: mysql, url: "${MYSQL_URL}", pool_size: 2}
"""
FLOW = """\
home: {type: parquet, path: data/x.parquet}
store: {type: mysql, connection: db, table: "{table}"}
"""


@pytest.fixture
def project(make_project: Any, mariadb_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    monkeypatch.setenv("MYSQL_URL", mariadb_url)

    def make(extra: str, flow: str = FLOW) -> tuple[Path, str]:
        table = "r_" + os.urandom(6).hex()
        files = {"hygge.yml": PROJECT, "flows/x/flow.yml": flow.replace("{table}", table) + extra}
        root: Path = make_project(files)
        (root / "data").mkdir(exist_ok=True)
        return root, table

    return make


def run_ok(root: Path) -> None:
    result = hygge.run(root)
    assert result.exit_code == 0, [(r.address, r.error) for r in result.entities]


def test_every_type_round_trips_parquet_to_mysql_and_back(
    project: Any,
    mariadb_url: str,  # noqa: F811
) -> None:
    root, table = project("run_type: full_drop\n")
    frame = every_type()
    frame.write_parquet(root / "data/x.parquet")
    run_ok(root)
    back = home("mysql", root, url=mariadb_url, table=table)
    assert_frame_equal(pl.concat(back.batches(Window.everything(), 2)), frame)
    assert back.schema() == frame.schema


def test_incremental_loads_rows_sharing_the_last_timestamp_once(
    project: Any,
    mariadb_url: str,  # noqa: F811
) -> None:
    """A mysql home too, so the window goes down as bound parameters."""
    source = "s_" + os.urandom(6).hex()
    flow = FLOW.replace("parquet, path: data/x.parquet", f"mysql, connection: db, table: {source}")
    root, table = project("watermark: {column: ts}\n", flow)
    base = datetime(2026, 1, 1, 0, 0, 0, 1)
    first = [(1, base), (2, base.replace(hour=1)), (3, base.replace(hour=1))]
    create_table(mariadb_url, source, "id bigint, ts datetime(6)", first)
    run_ok(root)
    later = [(4, base.replace(hour=1)), (5, base.replace(hour=2))]  # one at the boundary
    create_table(mariadb_url, source, "id bigint, ts datetime(6)", first + later)
    run_ok(root)
    run_ok(root)  # nothing new
    loaded = read_table(mariadb_url, table)
    assert loaded is not None and sorted(loaded["id"]) == [1, 2, 3, 4, 5]


def test_merge_updates_changed_rows_and_inserts_new_ones(
    project: Any,
    mariadb_url: str,  # noqa: F811
) -> None:
    root, table = project("run_type: merge\nprimary_key: [id]\n")
    sample(5).write_parquet(root / "data/x.parquet")
    run_ok(root)
    changed = sample(4, start=3).with_columns(name=pl.lit("changed"))
    changed.write_parquet(root / "data/x.parquet")
    run_ok(root)
    assert_same_rows(read_table(mariadb_url, table), pl.concat([sample(3), changed]))


def test_a_wrong_password_never_shows_the_password(tmp_path: Path, mariadb_url: str) -> None:  # noqa: F811
    bad = mariadb_url.replace("hygge-test-pw", "canary-secret")
    problems = store("mysql", tmp_path, url=bad, table="x").check()
    assert problems and "Access denied" in problems[0]
    assert "canary-secret" not in " ".join(problems)


def ids_table(url: str, table: str, ids: range) -> None:
    create_table(url, table, "id bigint, name longtext", [(n, f"row {n}") for n in ids])


def watermarked(project: Any, url: str) -> tuple[Path, str, str]:
    """A full_drop flow from a mysql source table (ids 1..3) with `watermark: {column: id}`."""
    source = "s_" + os.urandom(6).hex()
    flow = FLOW.replace("parquet, path: data/x.parquet", f"mysql, connection: db, table: {source}")
    root, table = project("run_type: full_drop\nwatermark: {column: id}\n", flow)
    ids_table(url, source, range(1, 4))
    return root, table, source


def go(root: Path, failpoint: str | None = None) -> None:
    env = {"HYGGE_FAILPOINT": failpoint} if failpoint else {}
    done = proc.run(root, "go", env=env)
    assert done.returncode == (99 if failpoint else 0), done.stdout + done.stderr


def to_incremental(root: Path) -> None:
    flow = root / "flows/x/flow.yml"
    flow.write_text(flow.read_text().replace("full_drop", "incremental"), encoding="utf-8")


def leftovers(url: str, table: str) -> list[str]:
    """Stages and replaced tables of this destination still in the database."""
    own = store("mysql", Path("."), url=url, table=table)
    assert isinstance(own, MySqlStore)
    return [name for name in stage_tables(url) if own.is_own_stage(name)]


def loaded_ids(url: str, table: str) -> list[int]:
    loaded = read_table(url, table)
    assert loaded is not None
    return sorted(loaded["id"].to_list())


@pytest.mark.parametrize("first", [True, False], ids=["first-load", "replacing"])
def test_a_full_drop_killed_after_its_rename_is_adopted_so_no_row_loads_twice(
    first: bool,
    project: Any,
    mariadb_url: str,  # noqa: F811
) -> None:
    """Killed between the RENAME and the journal's commit: the swap record written before the
    RENAME counts (the table's comment names its run), so the next run starts at its mark."""
    root, table, source = watermarked(project, mariadb_url)
    if not first:
        go(root)
    ids_table(mariadb_url, source, range(1, 6))
    go(root, failpoint="after_swap")
    assert loaded_ids(mariadb_url, table) == [1, 2, 3, 4, 5]  # published, never committed
    ids_table(mariadb_url, source, range(1, 8))
    to_incremental(root)
    go(root)
    assert loaded_ids(mariadb_url, table) == [1, 2, 3, 4, 5, 6, 7]
    assert leftovers(mariadb_url, table) == []


def test_a_full_drop_killed_before_its_rename_is_not_adopted(
    project: Any,
    mariadb_url: str,  # noqa: F811
) -> None:
    """Killed after its swap record commits but before the RENAME: the record never counts,
    so the next incremental run reads on from the last published mark (nothing lost)."""
    root, table, source = watermarked(project, mariadb_url)
    go(root)
    target = store("mysql", root, url=mariadb_url, table=table)
    published = target.last_commit()
    ids_table(mariadb_url, source, range(1, 6))
    go(root, failpoint="before_swap")
    assert loaded_ids(mariadb_url, table) == [1, 2, 3]
    assert target.last_commit() == published
    with connect(mariadb_url) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM _hygge_commits WHERE swap AND destination LIKE %s",
                    [f"%.{table}"])  # fmt: skip
        assert cur.fetchone()[0] == 2  # the crashed run's record is there, and ignored
    ids_table(mariadb_url, source, range(1, 8))
    to_incremental(root)
    go(root)
    assert loaded_ids(mariadb_url, table) == [1, 2, 3, 4, 5, 6, 7]
    assert leftovers(mariadb_url, table) == []


def test_a_commits_table_of_an_earlier_version_gets_the_swap_column(
    tmp_path: Path,
    mariadb_url: str,  # noqa: F811
) -> None:
    """Records written before `swap` existed still count; the next full_drop adds the column."""
    database = "d_" + os.urandom(6).hex()
    with connect(mariadb_url) as con, con.cursor() as cur:
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
    target = store("mysql", tmp_path, url=mariadb_url, table="dest", schema=database)
    old = target.last_commit()
    assert old is not None and old.run_id == "old-run"
    load = target.begin(LoadRun("new-run", "full_drop"))
    load.write(sample(3))
    load.publish(Commit("new-run", datetime(2026, 2, 1, tzinfo=UTC)))
    new = target.last_commit()
    assert new is not None and new.run_id == "new-run"
    assert_same_rows(read_back_in(mariadb_url, database), sample(3))


def read_back_in(url: str, database: str) -> pl.DataFrame | None:
    return read_table(url.rsplit("/", 1)[0] + "/" + database, "dest")
