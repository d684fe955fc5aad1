"""The SQL Server home and store (their generated SQL: tests/test_mssql_sql.py).

Without a server: configs, the sign-in per authentication mode (tests/test_mssql_login.py),
the home's window as bound parameters, the driver's Arrow batches brought to hygge's types,
the Arrow a bulk copy sends, error mapping (with the real driver, against a port where no
server listens), and the store's order of statements (against a stand-in connection).
With `HYGGE_TEST_MSSQL_URL` (`mssql://user:password@host:port/database`): the shared home and
store contracts; without it they are skipped with that reason.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from pydantic import ValidationError

from hygge.engines.mssql import DIALECT, bulk_arrow, conform, mapped
from hygge.errors import RetryableError, SourceError, StoreError
from hygge.homes.mssql import MsSqlHome
from hygge.plugin import Home, LoadRun, Store, Window
from hygge.registry import home_class, store_class
from hygge.stores.mssql import MsSqlStore
from hygge.testing import HomeContract, StoreContract, sample
from hygge.testing.contracts import assert_same_rows, commit_of
from hygge.watermark import Mark
from tests.test_contracts import home, store


def render(sql: str, params: list[Any]) -> tuple[str, list[Any] | None]:
    """The text and the bound values the home sends."""
    return DIALECT.finish(sql, params)


URL = os.environ.get("HYGGE_TEST_MSSQL_URL")
FAKE = "mssql://sa:s3cret@db.example:1433/shop"


def test_configs_refuse_names_that_are_not_plain() -> None:
    with pytest.raises(ValidationError):
        MsSqlStore.Config.model_validate({"type": "mssql", "url": FAKE, "table": "t]; --"})
    with pytest.raises(ValidationError):
        MsSqlHome.Config.model_validate({"type": "mssql", "url": FAKE, "table": "a;b"})
    with pytest.raises(ValidationError):
        MsSqlHome.Config.model_validate({"type": "mssql", "url": "postgres://h/db", "table": "t"})


def test_registry_knows_mssql() -> None:
    assert home_class("mssql") is MsSqlHome
    assert store_class("mssql") is MsSqlStore


def make_home(**config: Any) -> MsSqlHome:
    made = home("mssql", Path("."), url=FAKE, **config)
    assert isinstance(made, MsSqlHome)
    return made


def test_the_window_is_bracket_quoted_and_its_values_bound_as_parameters() -> None:
    reader = make_home(table="dbo.orders")
    window = Window("updated]at", Mark("int", 5), Mark("int", 9))
    text, params = reader.predicate(window)
    relation = reader.relation(text)
    assert relation == (
        "SELECT * FROM [dbo].[orders] WHERE ([updated]]at] >= \0? AND [updated]]at] <= \0?)"
        " OR [updated]]at] IS NULL"
    )
    assert render(relation, params) == (
        "SELECT * FROM [dbo].[orders] WHERE ([updated]]at] >= ? AND [updated]]at] <= ?)"
        " OR [updated]]at] IS NULL",
        [5, 9],
    )
    assert reader.predicate(Window.everything()) == ("1=1", [])
    assert render("SELECT 1", []) == ("SELECT 1", None)
    zoned = Mark.max_of(pl.Series([datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)]))
    assert zoned is not None
    assert reader.dialect.bind(zoned)[1] == datetime(2026, 1, 2, 3, 4, 5, 123456)
    dated = Mark.max_of(pl.Series([date(2026, 1, 2)]))
    assert dated is not None and reader.dialect.bind(dated)[1] == date(2026, 1, 2)


@pytest.mark.parametrize(
    ("name", "quoted"),
    [('we"ird', '[we"ird]'), ("back`tick", "[back`tick]"), ("br]acket", "[br]]acket]"),
     ("with space", "[with space]"), ("Ünïcødé", "[Ünïcødé]"), ('"TRUE"', '["TRUE"]')],
)  # fmt: skip
def test_a_window_on_an_odd_column_name_quotes_it_in_brackets_alone(name: str, quoted: str) -> None:
    window = Window(name, Mark("int", 5), Mark("int", 9))
    text, params = make_home(table="dbo.orders").predicate(window)
    assert (text, params) == (f"({quoted} >= \0? AND {quoted} <= \0?) OR {quoted} IS NULL", [5, 9])
    reader = make_home(query="SELECT * FROM v WHERE {window}")
    text, params = reader.predicate(Window(name, Mark("int", 5)))
    assert render(reader.relation(text), params) == (
        f"SELECT * FROM v WHERE (({quoted} >= ?) OR {quoted} IS NULL)",
        [5],
    )


def test_a_query_keeps_its_percent_signs_and_needs_its_window() -> None:
    reader = make_home(query="SELECT * FROM t WHERE name LIKE '%same%' AND {window}")
    text, params = reader.predicate(Window("id", Mark("int", 1)))
    assert render(reader.relation(text), params) == (
        "SELECT * FROM t WHERE name LIKE '%same%' AND (([id] >= ?) OR [id] IS NULL)",
        [1],
    )
    assert make_home(query="SELECT 1 AS id").window_problem("id") is not None


def test_a_table_reads_in_parallel_ranges_whose_bounds_are_bound() -> None:
    """`partition:` as for PostgreSQL: each range is the window plus its own two bounds."""
    from hygge.homes._partition import Range, condition

    reader = make_home(table="dbo.orders", partition={"column": "id", "count": 4})
    partition = reader.partition()
    assert partition is not None and partition.count == 4
    bounds = Range(part="i d", start=Mark("int", 1), end=Mark("int", 250))
    assert render(*condition(DIALECT, bounds)) == ("([i d] >= ? AND [i d] <= ?)", [1, 250])
    with pytest.raises(ValidationError, match="needs 'table'"):
        make_home(query="SELECT * FROM t WHERE {window}", partition={"column": "id", "count": 2})


def test_the_drivers_arrow_batches_are_brought_to_hygges_types_by_arrow_casts() -> None:
    """The driver may read timestamps and times in other units, a GUID as 16 bytes: each
    column is cast as a whole to what hygge reads SQL Server types as (microseconds, UTC)."""
    at = datetime(2026, 1, 1, 12, 30, 1, 123456, tzinfo=UTC)
    batch = pa.RecordBatch.from_pydict(
        {
            "n": pa.array([1, None], pa.int64()),
            "d": pa.array([Decimal("1.50"), None], pa.decimal128(10, 2)),
            "ts": pa.array([at.replace(tzinfo=None), None], pa.timestamp("ns")),
            "z": pa.array([at, None], pa.timestamp("ns", "+02:00")),
            "t": pa.array([time(1, 2, 3, 456789), None], pa.time64("ns")),
            "g": pa.array([b"0123456789abcdef", None], pa.binary(16)),
        }
    )
    frame = pl.from_arrow(conform(batch))
    assert isinstance(frame, pl.DataFrame)
    assert frame.schema == pl.Schema(
        {"n": pl.Int64, "d": pl.Decimal(10, 2), "ts": pl.Datetime("us"),
         "z": pl.Datetime("us", "UTC"), "t": pl.Time, "g": pl.Binary}
    )  # fmt: skip
    assert frame.row(0) == (1, Decimal("1.50"), at.replace(tzinfo=None), at,
                            time(1, 2, 3, 456789), b"0123456789abcdef")  # fmt: skip
    assert frame.row(1) == (None,) * 6
    empty = conform(batch.slice(0, 0))
    assert empty.num_rows == 0 and empty.schema == conform(batch).schema


def test_a_bulk_copy_sends_arrow_in_the_stages_column_types() -> None:
    """Columns are widened as `column_type` widens them, so the bulk load need not convert."""
    frame = pl.DataFrame(
        {"i8": [1], "u16": [2], "u32": [3], "u64": [2**64 - 1], "cat": ["a"], "none": [None],
         "s": ["x"]},
        schema_overrides={"i8": pl.Int8, "u16": pl.UInt16, "u32": pl.UInt32, "u64": pl.UInt64,
                          "cat": pl.Categorical},
    )  # fmt: skip
    sent = bulk_arrow(frame)
    assert sent.schema.types == [
        pa.int16(), pa.int32(), pa.int64(), pa.decimal128(20, 0), pa.large_string(),
        pa.large_string(), pa.large_string(),
    ]  # fmt: skip
    assert sent.to_pylist()[0]["u64"] == Decimal(2**64 - 1)


def test_driver_errors_are_mapped_and_redacted() -> None:
    login = mapped(Exception(f"[Microsoft][SQL Server]Login failed for user 'sa'. (18456) {FAKE}"),
                   "x", StoreError)  # fmt: skip
    assert type(login) is StoreError and "s3cret" not in login.message
    assert login.hint is not None and "password" in login.hint
    unreachable = "Client unable to establish connection; [Microsoft]TCP Provider: 0x2749"
    down = mapped(Exception(unreachable), "x", SourceError)
    assert isinstance(down, RetryableError)
    assert isinstance(mapped(Exception("deadlock victim (1205)"), "x", StoreError), RetryableError)
    assert type(mapped(Exception("Invalid object name 'x'. (208)"), "x", StoreError)) is StoreError


def test_a_server_that_does_not_answer_is_retryable_and_its_password_never_shown(
    tmp_path: Path,
) -> None:
    """The real driver, against a loopback port where nothing listens."""
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    url = f"mssql://sa:Canary-s3cret@127.0.0.1:{port}/shop?login_timeout=2"
    reader = home("mssql", tmp_path, url=url, table="dbo.orders")
    with pytest.raises(RetryableError) as caught:
        reader.schema()
    assert "Canary-s3cret" not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert caught.value.hint is not None and "server" in caught.value.hint


# --- against a server ------------------------------------------------------------------------

needs_server = pytest.mark.skipif(
    not URL, reason="set HYGGE_TEST_MSSQL_URL=mssql://user:password@host:port/database to run"
    " the home and store contracts against SQL Server (none can run on this machine)"
)  # fmt: skip


def table_of(tmp_path: Path) -> str:
    return "t_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]


def run(statement: str, rows: list[tuple[Any, ...]] | None = None) -> list[tuple[Any, ...]]:
    import mssql_python

    from hygge.engines._mssql_login import login

    with mssql_python.connect(login(URL or "").text, autocommit=True) as con, con.cursor() as cur:
        if rows:
            cur.executemany(statement, rows)
            return []
        cur.execute(statement)
        return list(cur.fetchall()) if cur.description else []


@needs_server
class TestMsSqlHome(HomeContract):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        name = table_of(tmp_path)
        run(f"DROP TABLE IF EXISTS [dbo].[{name}]")
        run(f"CREATE TABLE [dbo].[{name}] (id bigint, name nvarchar(max))")
        if frame.height:
            run(f"INSERT INTO [dbo].[{name}] VALUES (?, ?)", list(frame.iter_rows()))
        return home("mssql", tmp_path, url=URL, table=f"dbo.{name}")

    def make_broken_home(self, tmp_path: Path) -> Home:
        return home("mssql", tmp_path, url=URL, table="no_such_table")


@needs_server
class TestMsSqlStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return store("mssql", tmp_path, url=URL, table=table_of(tmp_path))

    def make_broken_store(self, tmp_path: Path) -> Store:
        """A wrong password: the login is refused."""
        url = (URL or "").replace("@", "-wrong@", 1)
        return store("mssql", tmp_path, url=url, table=table_of(tmp_path))

    def read_back(self, store: Store) -> pl.DataFrame | None:
        assert isinstance(store, MsSqlStore)
        name = store.config.table
        if not run(f"SELECT 1 FROM sys.tables WHERE name = '{name}'"):
            return None
        reader = home("mssql", Path("."), url=URL, table=f"dbo.{name}")
        batches = list(reader.batches(Window.everything(), 10_000))
        return pl.concat(batches) if batches else pl.DataFrame(schema=reader.schema())

    def leftovers(self, store: Store) -> list[str]:
        assert isinstance(store, MsSqlStore)
        return [str(r[0]) for r in run("SELECT name FROM sys.tables") if store.is_own_stage(r[0])]

    def test_an_empty_full_drop_publishes_an_empty_destination(self, tmp_path: Path) -> None:
        """As for the other SQL stores: a table needs columns, so a first empty full_drop
        publishes only its commit record."""
        store = self.make_store(tmp_path)
        self.load(store, "full_drop", run_id="run-1")
        assert self.read_back(store) is None
        self.load(store, "full_drop", sample(10), run_id="run-2")
        self.load(store, "full_drop", run_id="run-3")
        assert_same_rows(self.read_back(store), sample(0))


class _Server:
    """What a SQL Server would be told, recorded: no SQL Server can run on this machine, so
    the store's order of statements is checked against a stand-in for mssql-python's
    connection.
    It knows one thing: the stage tables it was asked to create (for `sys.tables`)."""

    def __init__(self, tables: list[str]) -> None:
        self.tables = tables
        self.said: list[str] = []
        self.copied = 0

    def connect(self, *_: Any, **__: Any) -> _Server:
        self.timeout = 0
        return self

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def close(self) -> None:
        pass


class _Cursor:
    def __init__(self, server: _Server) -> None:
        self.server, self.rows, self.description = server, [], None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.server.said.append(sql)
        self.rows = [(t,) for t in self.server.tables] if "sys.tables" in sql else []
        self.description = [("x",)] if self.rows or sql.startswith("SELECT") else None

    def bulkcopy_arrow(self, table: str, source: pa.Table, **_: Any) -> None:
        self.server.said.append(f"BULK {table}")
        self.server.copied += source.num_rows

    def fetchall(self) -> list[Any]:
        return self.rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def close(self) -> None:
        pass


def test_a_full_drop_load_stages_copies_and_publishes_in_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mssql_python

    writer = store("mssql", tmp_path, url=FAKE, table="orders")
    assert isinstance(writer, MsSqlStore)
    server = _Server([writer.stage_name("crashed"), "_hygge_stage#elsewhere#x", "orders"])
    monkeypatch.setattr(mssql_python, "connect", server.connect)

    writer.recover()
    load = writer.begin(LoadRun("run-1", "full_drop"))
    load.write(sample(3))
    load.publish(commit_of("run-1"))

    said = server.said
    drops = [s for s in said if s.startswith("DROP TABLE IF EXISTS")]
    assert drops[0] == f"DROP TABLE IF EXISTS [dbo].[{writer.stage_name('crashed')}]"
    assert not any("elsewhere" in s for s in drops)  # another destination's stage stays
    publish = said[said.index("BEGIN TRANSACTION", said.index(f"BULK {load.stage}")) :]
    assert "sp_getapplock" in publish[1] and "sp_rename" in " ".join(publish)
    assert any(s.startswith("INSERT INTO [dbo].[_hygge_commits]") for s in publish)
    assert publish[-1] == "COMMIT" and server.copied == 3

    aborted = writer.begin(LoadRun("run-2", "full_drop"))
    aborted.abort()
    assert said[-1] == f"DROP TABLE IF EXISTS {aborted.stage}"


class _Repeating(_Server):
    """A stand-in whose stage holds key 7 twice, for as many of its repeat checks as given."""

    def __init__(self, answers: list[list[tuple[Any, ...]]]) -> None:
        super().__init__([])
        self.answers = answers

    def cursor(self) -> _Cursor:
        server, cursor = self, _Cursor(self)
        plain = cursor.execute

        def execute(sql: str, params: tuple[Any, ...] = ()) -> None:
            plain(sql, params)
            if "HAVING COUNT(*) > 1" in sql:
                cursor.rows = server.answers.pop(0)

        cursor.execute = execute  # type: ignore[method-assign]
        return cursor


@pytest.mark.parametrize("ordered", [True, False])
def test_a_merge_keeps_one_row_per_key_in_the_stage_before_publishing(
    ordered: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest version wins (a SELECT ... INTO the stage's copy, then back), or, when the
    versions cannot be ordered, the load fails naming the key before anything is merged."""
    import mssql_python

    writer = store("mssql", tmp_path, url=FAKE, table="orders")
    server = _Repeating([[(7,)], [] if ordered else [(7,)]])
    monkeypatch.setattr(mssql_python, "connect", server.connect)
    load = writer.begin(LoadRun("run-1", "merge", ("id",), "version"))
    load.write(pl.DataFrame({"id": [7, 7], "version": [1, 2]}))

    if ordered:
        load.publish(commit_of("run-1"))
    else:
        with pytest.raises(StoreError, match="id=7"):
            load.publish(commit_of("run-1"))

    said = server.said
    checks = [n for n, s in enumerate(said) if "HAVING COUNT(*) > 1" in s]
    assert said[checks[0]].startswith("SELECT TOP (3) [id] FROM") and len(checks) == 2
    copy = f"[dbo].[{writer.stage_name('run-1')}#one]"
    newest = next(s for s in said if f" INTO {copy} FROM" in s)
    assert "MAX([version]) OVER (PARTITION BY [id])" in newest
    assert checks[0] < said.index(newest) < said.index(f"DROP TABLE {copy}") < checks[1]
    published = [s for s in said if "sp_rename" in s]  # no destination yet: the stage moves in
    assert bool(published) == ordered


class _ArrowServer:
    """A stand-in connection whose cursor answers a query with the driver's Arrow batches
    (timestamps in nanoseconds), handing them out `arrow_batch(n)` rows at a time."""

    def __init__(self, table: pa.Table) -> None:
        self.table, self.said = table, []
        self.timeout = 0

    def connect(self, *_: Any, **__: Any) -> _ArrowServer:
        return self

    def cursor(self) -> _ArrowServer:
        self.offset = 0
        return self

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.said.append((sql, params))

    def arrow_batch(self, size: int) -> pa.RecordBatch:
        rows = self.table.slice(self.offset, size)
        self.offset += rows.num_rows
        return pa.RecordBatch.from_pylist(rows.to_pylist(), schema=rows.schema)

    def close(self) -> None:
        pass


def test_the_home_streams_the_drivers_arrow_batches_with_the_window_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mssql_python

    at = datetime(2026, 1, 1, tzinfo=UTC)
    table = pa.table({"id": pa.array(range(25), pa.int64()),
                      "at": pa.array([at] * 25, pa.timestamp("ns", "UTC"))})  # fmt: skip
    server = _ArrowServer(table)
    monkeypatch.setattr(mssql_python, "connect", server.connect)
    reader = make_home(table="dbo.orders")

    batches = list(reader.batches(Window("id", Mark("int", 0), Mark("int", 99)), 10))

    assert [b.height for b in batches] == [10, 10, 5]
    assert pl.concat(batches).equals(pl.from_arrow(table).cast({"at": pl.Datetime("us", "UTC")}))
    sql, params = server.said[-1]
    assert "[id] >= ? AND [id] <= ?" in sql and params == (0, 99)
    assert reader.fetch("SELECT 1", []).num_rows == 25
