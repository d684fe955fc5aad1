"""The PostgreSQL home and store against a live server: contracts, round trips, whole runs."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from time import monotonic, sleep
from typing import Any

import adbc_driver_postgresql.dbapi as dbapi
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

import hygge
from hygge.errors import EntityError, StoreError
from hygge.homes.postgres import exact, exact_schema
from hygge.plugin import Home, LoadRun, Store, Window
from hygge.stores.postgres import PostgresStore
from hygge.testing import HomeContract, StoreContract, sample
from hygge.testing.contracts import assert_same_rows
from tests import proc
from tests.pg import postgres_url  # noqa: F401  (the session's server, as a fixture)
from tests.test_contracts import home, store


def table_of(tmp_path: Path) -> str:
    """A table name of this test's own (tests share one database)."""
    return "t_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]


def create_table(url: str, table: str, frame: pl.DataFrame) -> None:
    with dbapi.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.adbc_ingest(table, frame.to_arrow(), mode="replace")


def read_table(url: str, table: str, schema: str = "public") -> pl.DataFrame | None:
    with dbapi.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute("SELECT to_regclass($1) IS NOT NULL", [f'"{schema}"."{table}"'])
        if not cur.fetchone()[0]:
            return None
        cur.execute(f'SELECT * FROM "{schema}"."{table}"')
        table = cur.fetch_arrow_table()
        batches = [exact(b) for b in table.to_batches()]
        frame = pl.from_arrow(pa.Table.from_batches(batches, exact_schema(table.schema)))
    assert isinstance(frame, pl.DataFrame)
    return frame


def stage_tables(url: str) -> list[str]:
    with dbapi.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute("SELECT table_name::text FROM information_schema.tables")
        return [row[0] for row in cur.fetchall() if row[0].startswith("_hygge_stage")]


def own_stages(url: str, table: str) -> list[str]:
    """The staging tables left for destination public.table."""
    target = store("postgres", Path("."), url=url, table=table)
    assert isinstance(target, PostgresStore)
    return [name for name in stage_tables(url) if target.is_own_stage(name)]


class Server:
    url: str

    @pytest.fixture(autouse=True)
    def _server(self, postgres_url: str) -> None:  # noqa: F811
        self.url = postgres_url


class TestPostgresHome(Server, HomeContract):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        create_table(self.url, table_of(tmp_path), frame)
        return home("postgres", tmp_path, url=self.url, table=f"public.{table_of(tmp_path)}")

    def make_broken_home(self, tmp_path: Path) -> Home:
        return home("postgres", tmp_path, url=self.url, table="no_such_table")


class TestPostgresQueryHome(TestPostgresHome):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        create_table(self.url, table_of(tmp_path), frame)
        query = f"SELECT id, name FROM {table_of(tmp_path)} WHERE {{window}};"
        return home("postgres", tmp_path, url=self.url, query=query)


class TestPostgresStore(Server, StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return store("postgres", tmp_path, url=self.url, table=table_of(tmp_path))

    def make_broken_store(self, tmp_path: Path) -> Store:
        url = self.url.replace("hygge-test-pw", "wrong")
        return store("postgres", tmp_path, url=url, table=table_of(tmp_path))

    def read_back(self, store: Store) -> pl.DataFrame | None:
        assert isinstance(store, PostgresStore)
        return read_table(self.url, store.config.table)

    def leftovers(self, store: Store) -> list[str]:
        assert isinstance(store, PostgresStore)
        return [name for name in stage_tables(self.url) if store.is_own_stage(name)]

    def test_an_empty_full_drop_publishes_an_empty_destination(self, tmp_path: Path) -> None:
        """Overridden, as for DuckDB: a table needs columns, and a load that saw no frame
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
    """One column per type PostgreSQL holds exactly, a NULL in every column."""
    rows: dict[str, tuple[pl.DataType, list[Any]]] = {
        "i16": (pl.Int16(), [-32768, 32767]),
        "i32": (pl.Int32(), [-(2**31), 2**31 - 1]),
        "i64": (pl.Int64(), [-(2**63), 2**63 - 1]),
        "f32": (pl.Float32(), [1.5, -0.25]),
        "f64": (pl.Float64(), [1e300, -2.5e-300]),
        "dec": (pl.Decimal(18, 4), [Decimal("12345678901234.5678"), Decimal("-0.0001")]),
        "text": (pl.String(), ["Åse 🦆 ß 東京 \u200b", "'; DROP TABLE x; --"]),
        "flag": (pl.Boolean(), [True, False]),
        "day": (pl.Date(), [date(1, 1, 1), date(9999, 12, 31)]),
        "clock": (pl.Time(), [time(0, 0), time(23, 59, 59, 999999)]),
        "ts": (pl.Datetime("us"), [datetime(1970, 1, 1), datetime(2026, 2, 3, 4, 5, 6, 789012)]),
        "tstz": (
            pl.Datetime("us", "UTC"),
            [datetime(2026, 1, 1, tzinfo=UTC), datetime(2000, 2, 29, 1, 2, 3, 4, tzinfo=UTC)],
        ),
        "blob": (pl.Binary(), [b"\x00\xff", b""]),
    }
    return pl.DataFrame(
        {name: [*values, None] for name, (_, values) in rows.items()},
        schema={name: dtype for name, (dtype, _) in rows.items()},
    )


PROJECT = """\
name: test
connections:
  pg: {type: postgres, url: "${PG_URL}", pool_size: 2}
"""
FLOW = """\
home: {type: parquet, path: data/x.parquet}
store: {type: postgres, connection: pg, table: "{table}"}
"""


@pytest.fixture
def project(make_project: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    monkeypatch.setenv("PG_URL", postgres_url)

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


def test_every_type_round_trips_parquet_to_postgres_and_back(
    project: Any,
    postgres_url: str,  # noqa: F811
) -> None:
    root, table = project("run_type: full_drop\n")
    frame = every_type()
    frame.write_parquet(root / "data/x.parquet")
    run_ok(root)
    back = home("postgres", root, url=postgres_url, table=table)
    assert_frame_equal(pl.concat(back.batches(Window.everything(), 2)), frame)
    assert back.schema() == frame.schema


def test_incremental_loads_rows_sharing_the_last_timestamp_once(
    project: Any,
    postgres_url: str,  # noqa: F811
) -> None:
    """A postgres home too, so the window goes down as bound parameters."""
    source = "s_" + os.urandom(6).hex()
    flow = FLOW.replace(
        "parquet, path: data/x.parquet", f"postgres, connection: pg, table: {source}"
    )
    root, table = project("watermark: {column: ts}\n", flow)
    base = datetime(2026, 1, 1, 0, 0, 0, 1)
    first = pl.DataFrame(
        {"id": [1, 2, 3], "ts": [base, base.replace(hour=1), base.replace(hour=1)]},
        schema={"id": pl.Int64, "ts": pl.Datetime("us")},
    )
    create_table(postgres_url, source, first)
    run_ok(root)
    later = pl.DataFrame(  # another row at the boundary, and a newer one
        {"id": [4, 5], "ts": [base.replace(hour=1), base.replace(hour=2)]}, schema=first.schema
    )
    create_table(postgres_url, source, pl.concat([first, later]))
    run_ok(root)
    run_ok(root)  # nothing new
    loaded = read_table(postgres_url, table)
    assert loaded is not None and sorted(loaded["id"]) == [1, 2, 3, 4, 5]


def test_incremental_on_a_numeric_watermark_of_a_not_null_table(
    project: Any,
    postgres_url: str,  # noqa: F811
) -> None:
    """numeric(12,2) keeps its scale as a watermark (max() would hand it back as text), and
    a NOT NULL id table is read without the window's IS NULL arm: same rows either way."""
    source = "s_" + os.urandom(6).hex()
    flow = FLOW.replace(
        "parquet, path: data/x.parquet", f"postgres, connection: pg, table: {source}"
    )
    root, table = project("run_type: incremental\nwatermark: {column: price}\n", flow)
    with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE TABLE {source} (id bigint NOT NULL, price numeric(12,2) NOT NULL)")
        cur.execute(f"INSERT INTO {source} VALUES (1, 0.10), (2, 9.99), (3, 10.50)")
        run_ok(root)
        cur.execute(f"INSERT INTO {source} VALUES (4, 10.50), (5, 10.51), (6, 0.20)")
    run_ok(root)
    run_ok(root)  # nothing new
    loaded = read_table(postgres_url, table)
    assert loaded is not None
    assert sorted(loaded["id"]) == [1, 2, 3, 4, 5]  # 6 is late (below the watermark)
    assert loaded.schema["price"] == pl.Decimal(12, 2)


def test_merge_updates_changed_rows_and_inserts_new_ones(
    project: Any,
    postgres_url: str,  # noqa: F811
) -> None:
    root, table = project("run_type: merge\nprimary_key: [id]\n")
    sample(5).write_parquet(root / "data/x.parquet")
    run_ok(root)
    changed = sample(4, start=3).with_columns(name=pl.lit("changed"))
    changed.write_parquet(root / "data/x.parquet")
    run_ok(root)
    assert_same_rows(read_table(postgres_url, table), pl.concat([sample(3), changed]))


def test_new_columns_are_added_and_a_narrower_destination_type_is_refused(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    table = table_of(tmp_path)
    target = store("postgres", tmp_path, url=postgres_url, table=table, schema="raw")
    for run_id, frame in (("r1", sample(2)), ("r2", sample(2, start=5).with_columns(extra=1.5))):
        load = target.begin(LoadRun(run_id, "incremental"))
        load.write(frame)
        load.publish()
    loaded = read_table(postgres_url, table, schema="raw")
    assert loaded is not None and sorted(loaded["extra"].to_list(), key=str) == [
        1.5,
        1.5,
        None,
        None,
    ]
    load = target.begin(LoadRun("r3", "incremental"))
    load.write(pl.DataFrame({"id": ["text"]}))
    with pytest.raises(StoreError, match="'id' is text in the source but bigint"):
        load.publish()
    load.abort()
    assert postgres_url.split("@")[0].split(":")[-1] not in target.destination()


def test_a_load_of_many_batches_arrives_whole_through_a_pool_of_one_connection(
    make_project: Any,
    postgres_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """All batches go through one COPY, whose connection the load holds until publish; with
    pool_size 1 the publish must still get it back rather than wait on itself."""
    monkeypatch.setenv("PG_URL", postgres_url)
    table = "r_" + os.urandom(6).hex()
    root = make_project(
        {
            "hygge.yml": PROJECT.replace("pool_size: 2", "pool_size: 1"),
            "flows/x/flow.yml": FLOW.replace("{table}", table) + "run_type: full_drop\n"
            "batch_rows: 7\n",
        }
    )
    (root / "data").mkdir()
    for rows in (100, 3):
        sample(rows).write_parquet(root / "data/x.parquet")
        run_ok(root)
        assert_same_rows(read_table(postgres_url, table), sample(rows))
    assert own_stages(postgres_url, table) == []


def test_a_value_the_stage_refuses_mid_load_fails_the_entity_and_changes_nothing(
    project: Any,
    postgres_url: str,  # noqa: F811
) -> None:
    """PostgreSQL text cannot hold NUL: the server refuses the COPY when it reaches that row
    (it tells when the stream ends), so the publish fails and the old rows stay."""
    root, table = project("run_type: full_drop\nbatch_rows: 7\n")
    sample(10).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(100).with_columns(
        name=pl.when(pl.col("id") == 60).then(pl.lit("bad\x00")).otherwise(pl.col("name"))
    ).write_parquet(root / "data/x.parquet")
    result = hygge.run(root)
    (entity,) = result.entities
    assert result.exit_code == 1 and entity.status == "failed", entity
    assert entity.error is not None and 'invalid byte sequence for encoding "UTF8"' in entity.error
    assert "hygge-test-pw" not in entity.error
    assert_same_rows(read_table(postgres_url, table), sample(10))
    assert own_stages(postgres_url, table) == []


def test_a_lost_ingest_connection_fails_the_next_write_promptly(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    target = store("postgres", tmp_path, url=postgres_url, table=table_of(tmp_path))
    assert isinstance(target, PostgresStore)
    load = target.begin(LoadRun("r1", "full_drop"))
    load.write(sample(1000))
    with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
        stage = target.stage_name("r1")
        for _ in range(100):  # the COPY starts on the ingest's thread
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND query LIKE 'COPY%' AND strpos(query, $1) > 0",
                [stage],
            )
            if cur.fetchall():
                break
            sleep(0.05)
        else:
            pytest.fail("the load's COPY never showed in pg_stat_activity")
    started = monotonic()
    with pytest.raises(EntityError) as failed:
        for _ in range(1000):
            load.write(sample(1000))
    assert monotonic() - started < 30
    assert "hygge-test-pw" not in failed.value.message
    load.abort()
    assert read_table(postgres_url, table_of(tmp_path)) is None
    assert own_stages(postgres_url, table_of(tmp_path)) == []


def test_later_batches_are_cast_to_the_first_batchs_columns_or_refused(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    """Reordered, missing and all-NULL columns of another type go into the one COPY; a
    column of another PostgreSQL type is refused by write(), naming it."""
    target = store("postgres", tmp_path, url=postgres_url, table=table_of(tmp_path))
    first = pl.DataFrame({"id": [1, 2], "v": [1.5, None]})
    load = target.begin(LoadRun("r1", "full_drop"))
    load.write(first)
    load.write(pl.DataFrame({"v": [None], "id": [3]}))  # v is Null here, and comes first
    load.write(pl.DataFrame({"id": [4]}, schema={"id": pl.Int64}))
    load.publish()
    expected = pl.DataFrame({"id": [1, 2, 3, 4], "v": [1.5, None, None, None]})
    assert_same_rows(read_table(postgres_url, table_of(tmp_path)), expected)
    load = target.begin(LoadRun("r2", "full_drop"))
    load.write(first)
    with pytest.raises(StoreError, match="'id' is text in a batch but bigint"):
        load.write(pl.DataFrame({"id": ["x"], "v": [2.5]}))
    with pytest.raises(StoreError, match=r"\['extra'\]"):
        load.write(first.with_columns(extra=pl.lit(1)))
    load.abort()
    assert_same_rows(read_table(postgres_url, table_of(tmp_path)), expected)


def test_a_wrong_password_fails_the_entity_and_never_shows_the_password(
    make_project: Any,
    postgres_url: str,  # noqa: F811
) -> None:
    canary = "canary-" + os.urandom(8).hex()
    port = postgres_url.rsplit(":", 1)[1].split("/")[0]
    hygge_yml = f"""\
        name: test
        connections:
          pg: {{type: postgres, host: 127.0.0.1, port: {port}, database: hygge, user: hygge,
                password: "${{PG_PASSWORD}}"}}
        """
    flow = "home: {type: postgres, connection: pg, table: nothing}\n"
    flow += "store: {type: parquet, path: out}\nrun_type: full_drop\n"
    root = make_project({"hygge.yml": hygge_yml, "flows/x/flow.yml": flow})
    result = proc.run(root, "go", "-v", env={"PG_PASSWORD": canary})
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "password authentication failed" in output
    assert canary not in output
    for path in (root / ".hygge").rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path
    history = proc.run(root, "history", "--json", env={"PG_PASSWORD": canary})
    assert canary not in history.stdout + history.stderr
