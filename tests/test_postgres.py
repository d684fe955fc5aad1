"""What only the PostgreSQL home and store do, against a live server (what every SQL engine
does: tests/test_sql_engines.py)."""

from __future__ import annotations

import os
import textwrap
from datetime import timedelta
from pathlib import Path
from time import monotonic, sleep

import adbc_driver_postgresql.dbapi as dbapi
import polars as pl
import pytest

import hygge
from hygge.engines.postgres import mapped
from hygge.errors import EntityError, RetryableError, SourceError, StoreError
from hygge.plugin import LoadRun, Window
from hygge.stores.postgres import PostgresStore
from hygge.testing import sample
from hygge.testing.contracts import assert_same_rows, commit_of
from tests import proc
from tests.conftest import EngineProject, ProjectMaker, run_ok
from tests.engines import Postgres, over_precision, table_of
from tests.pg import PASSWORD


@pytest.fixture
def engine(postgres_url: str) -> Postgres:
    return Postgres(postgres_url)


def test_incremental_on_a_numeric_watermark_of_a_not_null_table(
    engine: Postgres, project: EngineProject
) -> None:
    """numeric(12,2) keeps its scale as a watermark (max() would hand it back as text), and
    a NOT NULL id table is read without the window's IS NULL arm: same rows either way."""
    source = "s_" + os.urandom(6).hex()
    flow = "run_type: incremental\nwatermark: {column: price}\n"
    root, table = project(flow, home=engine.home_yaml(source))
    with dbapi.connect(engine.url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE TABLE {source} (id bigint NOT NULL, price numeric(12,2) NOT NULL)")
        cur.execute(f"INSERT INTO {source} VALUES (1, 0.10), (2, 9.99), (3, 10.50)")
        run_ok(root)
        cur.execute(f"INSERT INTO {source} VALUES (4, 10.50), (5, 10.51), (6, 0.20)")
    run_ok(root)
    run_ok(root)  # nothing new
    loaded = engine.read(root, table)
    assert loaded is not None
    assert sorted(loaded["id"]) == [1, 2, 3, 4, 5]  # 6 is late (below the watermark)
    assert loaded.schema["price"] == pl.Decimal(12, 2)


def test_a_load_of_many_batches_arrives_whole_through_a_pool_of_one_connection(
    engine: Postgres, project: EngineProject
) -> None:
    """All batches go through one COPY, whose connection the load holds until publish; with
    pool_size 1 the publish must still get it back rather than wait on itself."""
    root, table = project("run_type: full_drop\nbatch_rows: 7\n", pool_size=1)
    for rows in (100, 3):
        sample(rows).write_parquet(root / "data/x.parquet")
        run_ok(root)
        assert_same_rows(engine.read(root, table), sample(rows))
    assert engine.stages_left(root, table) == []


def test_a_value_the_stage_refuses_mid_load_fails_the_entity_and_changes_nothing(
    engine: Postgres, project: EngineProject
) -> None:
    """PostgreSQL text cannot hold NUL. The server would refuse it only when the load's one
    COPY ends, as a line of the stream; the load fails at the batch holding it instead,
    naming the column, the row and the value, and the old rows stay."""
    root, table = project("run_type: full_drop\nbatch_rows: 7\n")
    sample(10).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(100).with_columns(
        name=pl.when(pl.col("id") == 60).then(pl.lit("bad\x00")).otherwise(pl.col("name"))
    ).write_parquet(root / "data/x.parquet")
    result = hygge.run(root)
    (entity,) = result.entities
    assert result.exit_code == 1 and entity.status == "failed", entity
    assert entity.error is not None
    assert "column 'name' (text) of batch 9 holds a value PostgreSQL refuses" in entity.error
    assert "(row 61 of the load): text cannot hold NUL" in entity.error
    assert entity.error.endswith("the value: 'bad\\x00'"), entity.error
    assert "hygge-test-pw" not in entity.error
    assert_same_rows(engine.read(root, table), sample(10))
    assert engine.stages_left(root, table) == []


@pytest.mark.parametrize(
    ("column", "message", "value"),
    [
        (
            pl.Series("day", [-3_000_000, 0], pl.Int32).cast(pl.Date),
            "column 'day' (date) of batch 1 holds a value PostgreSQL refuses (row 1 of the"
            " load): outside the range of PostgreSQL's dates",
            "-3000000 days from 1970-01-01",
        ),
        (
            pl.Series("at", [0, -(2**62)], pl.Int64).cast(pl.Datetime("us")),
            "column 'at' (timestamp without time zone) of batch 1 holds a value PostgreSQL"
            " refuses (row 2 of the load): outside the range of PostgreSQL's timestamps",
            "-4611686018427387904 us from 1970-01-01",
        ),
        (
            pl.Series("at", [0, 2**62], pl.Int64).cast(pl.Datetime("ms", "UTC")),
            "column 'at' (timestamp with time zone) of batch 1",
            "4611686018427387904 ms from 1970-01-01",
        ),
        (
            pl.Series("took", [0, -(2**62)], pl.Int64).cast(pl.Duration("ms")),
            "column 'took' (interval) of batch 1 holds a value PostgreSQL refuses (row 2 of"
            " the load): too long for an interval of microseconds",
            "-4611686018427387904 ms",
        ),
        (
            over_precision(),
            "column 'amount' (numeric(5,2)) of batch 1 holds a value PostgreSQL refuses (row 1"
            " of the load): more digits than Decimal(precision=5, scale=2)",
            "12345.67",
        ),
        (
            pl.Series("api_token", ["fine", "s3cr3t\x00tail"]),
            "column 'api_token' (text) of batch 1",
            "not shown: the column's name looks secret",
        ),
    ],
    ids=["date", "timestamp", "milliseconds", "duration", "decimal", "secret"],
)
def test_values_postgresql_refuses_are_named_with_column_row_and_value(
    engine: Postgres, project: EngineProject, column: pl.Series, message: str, value: str
) -> None:
    """Dates and timestamps out of PostgreSQL's range, milliseconds that overflow the driver's
    conversion and decimals beyond their precision fail the load at their batch, with the
    column's name and type and a sample (none from a column whose name looks secret)."""
    root, table = project("run_type: full_drop\n")
    sample(2).write_parquet(root / "data/x.parquet")
    run_ok(root)
    sample(2).with_columns(column).write_parquet(root / "data/x.parquet")
    result = hygge.run(root)
    (entity,) = result.entities
    assert result.exit_code == 1 and entity.status == "failed", entity
    assert entity.error is not None and message in entity.error, entity.error
    assert entity.error.endswith(f"the value: {value}"), entity.error
    assert "s3cr3t" not in entity.error
    assert_same_rows(engine.read(root, table), sample(2))
    assert engine.stages_left(root, table) == []


def test_text_too_long_for_a_varchar_column_of_the_destination_is_named(
    engine: Postgres, project: EngineProject
) -> None:
    """A table made by hand may bound its text (varchar(n)); PostgreSQL refuses a longer value
    at publish without naming the column. The load names it, its type and the value."""
    root, table = project("run_type: merge\nprimary_key: [id]\n")
    with dbapi.connect(engine.url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (id bigint, name varchar(5))")
    sample(10).write_parquet(root / "data/x.parquet")
    run_ok(root)
    longer = pl.DataFrame({"id": [3, 11], "name": ["row 3   ", "a name longer than five"]})
    longer.write_parquet(root / "data/x.parquet")
    result = hygge.run(root)
    (entity,) = result.entities
    assert result.exit_code == 1 and entity.status == "failed", entity
    assert entity.error is not None
    assert "column 'name' is character varying(5) in public." in entity.error
    assert entity.error.endswith("too short for a value of the load: 'a name longer than five'")
    assert_same_rows(engine.read(root, table), sample(10))
    assert engine.stages_left(root, table) == []


def test_a_lost_ingest_connection_fails_the_next_write_promptly(
    engine: Postgres, tmp_path: Path
) -> None:
    target = engine.store(tmp_path, table_of(tmp_path))
    assert isinstance(target, PostgresStore)
    load = target.begin(LoadRun("r1", "full_drop"))
    load.write(sample(1000))
    with dbapi.connect(engine.url, autocommit=True) as con, con.cursor() as cur:
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
    assert engine.read(tmp_path, table_of(tmp_path)) is None
    assert engine.stages_left(tmp_path, table_of(tmp_path)) == []


def test_later_batches_are_cast_to_the_first_batchs_columns_or_refused(
    engine: Postgres, tmp_path: Path
) -> None:
    """Reordered, missing and all-NULL columns of another type go into the one COPY; a
    column of another PostgreSQL type is refused by write(), naming it."""
    target = engine.store(tmp_path, table_of(tmp_path))
    first = pl.DataFrame({"id": [1, 2], "v": [1.5, None]})
    load = target.begin(LoadRun("r1", "full_drop"))
    load.write(first)
    load.write(pl.DataFrame({"v": [None], "id": [3]}))  # v is Null here, and comes first
    load.write(pl.DataFrame({"id": [4]}, schema={"id": pl.Int64}))
    load.publish(commit_of("r1"))
    expected = pl.DataFrame({"id": [1, 2, 3, 4], "v": [1.5, None, None, None]})
    assert_same_rows(engine.read(tmp_path, table_of(tmp_path)), expected)
    load = target.begin(LoadRun("r2", "full_drop"))
    load.write(first)
    with pytest.raises(StoreError, match="'id' is text in a batch but bigint"):
        load.write(pl.DataFrame({"id": ["x"], "v": [2.5]}))
    with pytest.raises(StoreError, match=r"\['extra'\]"):
        load.write(first.with_columns(extra=pl.lit(1)))
    load.abort()
    assert_same_rows(engine.read(tmp_path, table_of(tmp_path)), expected)


def test_a_wrong_password_fails_the_entity_and_never_shows_the_password(
    make_project: ProjectMaker, postgres_url: str
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
    assert "adbc_driver_manager" in output  # -v shows the driver's error, the cause, masked
    assert canary not in output
    for path in (root / ".hygge").rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path
    history = proc.run(root, "history", "--json", env={"PG_PASSWORD": canary})
    assert canary not in history.stdout + history.stderr


@pytest.mark.parametrize(
    ("sqlstate", "retried"),
    [("40001", True), ("40P01", True), ("55P03", True), ("57P03", True), ("42P01", False)],
)
def test_a_server_error_is_judged_by_its_sqlstate_not_its_text(
    postgres_url: str, sqlstate: str, retried: bool
) -> None:
    """A serialization failure, deadlock, lock timeout or a server starting up is retried,
    whatever its text says; a missing table is not."""
    raise_it = f"RAISE EXCEPTION 'no telling text' USING ERRCODE = '{sqlstate}'"
    with (
        dbapi.connect(postgres_url, autocommit=True) as con,
        con.cursor() as cur,
        pytest.raises(dbapi.Error) as raised,
    ):
        cur.execute(f"DO $$ BEGIN {raise_it}; END $$")

    error = mapped(raised.value, "db", SourceError)

    assert isinstance(error, RetryableError) is retried
    assert isinstance(error, SourceError) is not retried
    assert "postgres db: " in error.message and "no telling text" in error.message


def test_json_uuid_and_interval_columns_arrive_as_text_and_durations(
    engine: Postgres, tmp_path: Path
) -> None:
    source = table_of(tmp_path)
    with dbapi.connect(engine.url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE TABLE {source} (j json, jb jsonb, u uuid, iv interval)")
        cur.execute(
            f'INSERT INTO {source} VALUES (\'{{"a": [1, "é"]}}\', \'{{"b": 2}}\','
            " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '-3 days 02:00:00.5'),"
            " (NULL, NULL, NULL, NULL)"
        )
    reader = engine.home(tmp_path, table=source)
    rows = pl.concat(reader.batches(Window.everything(), 10))
    assert rows.schema == reader.schema()
    assert rows.to_dicts() == [
        {
            "j": '{"a": [1, "é"]}',
            "jb": '{"b": 2}',
            "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "iv": -timedelta(days=3) + timedelta(hours=2, microseconds=500_000),
        },
        {"j": None, "jb": None, "u": None, "iv": None},
    ]


def test_an_interval_with_months_is_refused_naming_the_column(
    engine: Postgres, tmp_path: Path
) -> None:
    source = table_of(tmp_path)
    with dbapi.connect(engine.url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE TABLE {source} (id int, billing interval)")
        cur.execute(f"INSERT INTO {source} VALUES (1, '1 day'), (2, '1 mon')")
    reader = engine.home(tmp_path, table=source)
    with pytest.raises(SourceError, match="'billing' holds intervals with months"):
        list(reader.batches(Window.everything(), 10))


def _shared_pool_project(
    make_project: ProjectMaker, engine: Postgres, pool_size: int, entities: int, home: str = ""
) -> tuple[Path, list[str]]:
    """Entities e0.. reading src_<tag>_eN and writing dst_<tag>_eN, home and store both on
    connection db of pool_size, at concurrency 4, without retries (a starved run fails at its
    first acquire timeout instead of three)."""
    tag = os.urandom(5).hex()
    names = [f"e{n}" for n in range(entities)]
    for name in names:
        engine.create(Path("."), f"src_{tag}_{name}", sample(3000))
    hygge_yml = (
        "name: test\noptions: {concurrency: 4}\nconnections:\n"
        f'  db: {{type: postgres, url: "${{PG_URL}}", pool_size: {pool_size}}}\n'
    )
    flow = (
        f'home: {{type: postgres, connection: db, table: "src_{tag}_{{entity}}"{home}}}\n'
        f'store: {{type: postgres, connection: db, table: "dst_{tag}_{{entity}}"}}\n'
        f"run_type: full_drop\nbatch_rows: 50\nretries: 0\nentities: [{', '.join(names)}]\n"
    )
    root = make_project({"hygge.yml": hygge_yml, "flows/x/flow.yml": flow})
    return root, [f"dst_{tag}_{name}" for name in names]


def test_entities_reading_and_writing_one_small_pool_all_finish(
    engine: Postgres, make_project: ProjectMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read holds a connection of `db` while its write needs another: four entities at once
    on a pool of two could each hold a read and wait for a write until the acquire timeout.
    They start as the pool can serve them instead, and every row arrives."""
    monkeypatch.setenv("PG_URL", engine.url)
    root, tables = _shared_pool_project(make_project, engine, pool_size=2, entities=4)
    crowded = "connection 'db' (pool_size 2) runs 1 of its 4 entities at a time"
    plan = proc.run(root, "go", "--dry-run")
    assert plan.returncode == 0 and crowded in plan.stdout, plan.stdout + plan.stderr
    result = proc.run(root, "go")
    assert result.returncode == 0, result.stdout + result.stderr
    assert crowded in " ".join(result.stderr.split()), result.stderr  # warned at the start
    for table in tables:
        assert_same_rows(engine.read(root, table), sample(3000))


def test_a_partitioned_read_leaves_its_store_a_connection_of_a_shared_pool(
    engine: Postgres, make_project: ProjectMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partitioned home reads on as many threads as its pool allows, but with the store on
    the same pool one connection stays the store's: all ranges on both connections starved
    the load's write."""
    monkeypatch.setenv("PG_URL", engine.url)
    partition = ", partition: {column: id, count: 4}"
    root, tables = _shared_pool_project(make_project, engine, 2, entities=1, home=partition)
    result = hygge.run(root)
    assert result.exit_code == 0, [(r.address, r.error) for r in result.entities]
    assert_same_rows(engine.read(root, tables[0]), sample(3000))


def test_a_pool_of_one_for_home_and_store_is_refused_before_anything_runs(
    engine: Postgres, make_project: ProjectMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One connection cannot stream a read and a COPY at once: the plan says so (exit 2)
    rather than let the load wait on its own read."""
    monkeypatch.setenv("PG_URL", engine.url)
    root, tables = _shared_pool_project(make_project, engine, pool_size=1, entities=1)
    result = proc.run(root, "go", env={"PG_URL": engine.url})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "x.e0" in output and "'db'" in output and "pool_size 1" in output
    assert "pool_size: 2" in output  # the hint
    assert engine.read(root, tables[0]) is None


# Spellings of the test server's host (it listens on 127.0.0.1 only) besides the URL's.
HOSTS = ["127.0.0.1", "localhost", "LocalHost"]


def two_names(url: str, host: str = "127.0.0.1") -> str:
    """hygge.yml with two connections to the one test database, spelled two ways."""
    port = url.rsplit(":", 1)[1].split("/")[0]
    return f"""\
        name: test
        connections:
          one: {{type: postgres, url: "${{PG_URL}}"}}
          two: {{type: postgres, host: "{host}", port: {port}, database: hygge, user: hygge,
                 password: "${{PG_PASSWORD}}"}}
        """


def writes(connection: str, table: str) -> str:
    return (
        f"home: {{type: parquet, path: data/{connection}.parquet}}\n"
        f"store: {{type: postgres, connection: {connection}, table: {table}}}\n"
        "run_type: full_drop\nbatch_rows: 10\n"
    )


@pytest.mark.parametrize("host", HOSTS)
def test_two_connection_names_for_one_table_are_one_destination(
    host: str,
    engine: Postgres,
    make_project: ProjectMaker,
    monkeypatch: pytest.MonkeyPatch,
    hygge_cli,
) -> None:
    monkeypatch.setenv("PG_URL", engine.url)
    monkeypatch.setenv("PG_PASSWORD", PASSWORD)
    table = "t_" + os.urandom(6).hex()
    flows = {"flows/one/flow.yml": writes("one", table)}
    flows["flows/two/flow.yml"] = writes("two", f"public.{table}")
    root = make_project({"hygge.yml": two_names(engine.url, host), **flows})
    (root / "data").mkdir()
    for number, name in enumerate(("one", "two")):
        sample(3 + number).write_parquet(root / f"data/{name}.parquet")

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2, result.output
    assert "one.one and two.two write the same destination" in result.stderr
    assert f"postgres one#public.{table} and postgres two#public.{table}" in result.stderr
    assert PASSWORD not in result.output
    assert engine.read(root, table) is None


def test_a_store_over_the_table_its_home_reads_is_refused(
    engine: Postgres, make_project: ProjectMaker, monkeypatch: pytest.MonkeyPatch, hygge_cli
) -> None:
    monkeypatch.setenv("PG_URL", engine.url)
    monkeypatch.setenv("PG_PASSWORD", PASSWORD)
    table = "t_" + os.urandom(6).hex()
    flow = (
        f"home: {{type: postgres, connection: one, table: {table}}}\n"
        f"store: {{type: postgres, connection: two, table: public.{table}}}\n"
    )
    root = make_project({"hygge.yml": two_names(engine.url), "flows/f/flow.yml": flow})
    engine.create(root, table, sample(3))

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2, result.output
    assert "the store of f.f" in result.stderr and "overlaps the home of f.f" in result.stderr
    assert_same_rows(engine.read(root, table), sample(3))


@pytest.mark.parametrize("host", HOSTS)
def test_a_table_written_through_another_connection_name_is_locked_across_processes(
    host: str, engine: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The skipped run names both entities and both connection names."""
    monkeypatch.setenv("PG_URL", engine.url)
    monkeypatch.setenv("PG_PASSWORD", PASSWORD)
    table = table_of(tmp_path)
    roots = []
    for name in ("one", "two"):
        root = tmp_path / name
        (root / "flows/orders").mkdir(parents=True)
        (root / "hygge.yml").write_text(textwrap.dedent(two_names(engine.url, host)))
        (root / "flows/orders/flow.yml").write_text(writes(name, table))
        (root / "data").mkdir()
        sample(50).write_parquet(root / f"data/{name}.parquet")
        roots.append(root)
    held_pid, held_code, other = proc.go_beside_a_paused_go(roots[0], roots[1], tmp_path / "paused")

    assert held_code == 0
    assert other.returncode == 75, other.stdout + other.stderr
    assert f"held by pid {held_pid}" in other.stdout
    line = " ".join(other.stdout.split())  # the summary wraps long lines
    assert f"skipped (writing postgres two#public.{table}): held by" in line
    assert f"for orders.orders writing postgres one#public.{table}" in line
    assert PASSWORD not in other.stdout + other.stderr
    assert_same_rows(engine.read(tmp_path, table), sample(50))


def test_two_connection_names_for_one_table_exclude_each_other_through_a_postgres_journal(
    engine: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two projects (as on two machines) sharing a PostgreSQL journal: the destination's
    advisory lock keys on the physical table too, and the skip names the holder's entity and
    destination as on one machine."""
    monkeypatch.setenv("PG_URL", engine.url)
    monkeypatch.setenv("PG_PASSWORD", PASSWORD)
    table = table_of(tmp_path)
    journal = f"journal: {{type: postgres, connection: one, schema: j_{os.urandom(4).hex()}}}\n"
    roots = []
    for name in ("one", "two"):
        root = tmp_path / name
        (root / "flows/orders").mkdir(parents=True)
        text = textwrap.dedent(two_names(engine.url, "localhost")).replace(
            "name: test", f"name: {name}"
        )
        (root / "hygge.yml").write_text(text + journal)
        (root / "flows/orders/flow.yml").write_text(writes(name, table))
        (root / "data").mkdir()
        sample(50).write_parquet(root / f"data/{name}.parquet")
        roots.append(root)
    held_pid, held_code, other = proc.go_beside_a_paused_go(roots[0], roots[1], tmp_path / "paused")

    assert held_code == 0
    assert other.returncode == 75, other.stdout + other.stderr
    line = " ".join(other.stdout.split())
    assert f"skipped (writing postgres two#public.{table}): held by pid {held_pid}" in line
    assert f"for orders.orders writing postgres one#public.{table}" in line
    assert PASSWORD not in other.stdout + other.stderr
    assert_same_rows(engine.read(tmp_path, table), sample(50))


def test_a_table_read_whole_tells_its_planner_row_count_as_the_expected_total(
    engine: Postgres, project: EngineProject
) -> None:
    """Progress shows % and ETA from pg_class.reltuples (no count(*)): known once the table
    was analyzed, unknown (no total sent) before."""
    from hygge.plan import PlannedEntity

    class Totals(hygge.Reporter):
        def __init__(self) -> None:
            self.totals: list[int] = []

        def entity_total(self, entity: PlannedEntity, rows: int) -> None:
            self.totals.append(rows)

    source = "s_" + os.urandom(6).hex()
    root, _ = project("run_type: full_drop\n", home=engine.home_yaml(source))
    engine.create(root, source, sample(250))
    before = Totals()
    assert hygge.run(root, reporter=before).exit_code == 0
    with dbapi.connect(engine.url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"ANALYZE {source}")
    after = Totals()
    assert hygge.run(root, reporter=after).exit_code == 0
    assert before.totals == [] and after.totals == [250]
