"""The SQL Server home and store (their generated SQL: tests/test_mssql_sql.py).

Without a server: configs, the home's window and value quoting, rows to Arrow, error mapping.
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
import pytest
from pydantic import ValidationError

from hygge.engines.mssql import DIALECT, arrow_schema, mapped, to_batch
from hygge.errors import RetryableError, SourceError, StoreError
from hygge.homes.mssql import MsSqlHome
from hygge.plugin import Home, LoadRun, Store, Window
from hygge.registry import home_class, store_class
from hygge.stores.mssql import MsSqlStore
from hygge.testing import HomeContract, StoreContract, sample
from hygge.testing.contracts import assert_same_rows, commit_of
from hygge.watermark import Mark
from tests.test_contracts import home, store


def render(sql: str, params: list[Any]) -> str:
    """The text the home sends: its slots filled in by the driver's own quoting."""
    return DIALECT.finish(sql, params)[0]


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


def test_the_window_is_bracket_quoted_and_its_values_quoted_by_the_driver() -> None:
    reader = make_home(table="dbo.orders")
    window = Window("updated]at", Mark("int", 5), Mark("int", 9))
    text, params = reader.predicate(window)
    relation = reader.relation(text)
    assert relation == (
        "SELECT * FROM [dbo].[orders] WHERE ([updated]]at] >= \0? AND [updated]]at] <= \0?)"
        " OR [updated]]at] IS NULL"
    )
    assert render(relation, params).endswith("([updated]]at] >= 5 AND [updated]]at] <= 9) OR"
                                             " [updated]]at] IS NULL")  # fmt: skip
    assert reader.predicate(Window.everything()) == ("1=1", [])
    assert reader.predicate(Window('a"TRUE', Mark("int", 1)))[0] == (
        '([a"TRUE] >= \0?) OR [a"TRUE] IS NULL'
    )
    assert render("a = \0? AND b = \0?", ["o'k", date(2026, 1, 2)]) == (
        "a = N'o''k' AND b = '2026-01-02'"
    )
    zoned = Mark.max_of(pl.Series([datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)]))
    assert zoned is not None
    assert reader.dialect.bind(zoned)[1] == datetime(2026, 1, 2, 3, 4, 5, 123456)
    with pytest.raises(SourceError):
        render("a = \0?", [])


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
        f"SELECT * FROM v WHERE (({quoted} >= 5) OR {quoted} IS NULL)"
    )


def test_a_query_keeps_its_percent_signs_and_needs_its_window() -> None:
    reader = make_home(query="SELECT * FROM t WHERE name LIKE '%same%' AND {window}")
    text, params = reader.predicate(Window("id", Mark("int", 1)))
    assert render(reader.relation(text), params) == (
        "SELECT * FROM t WHERE name LIKE '%same%' AND (([id] >= 1) OR [id] IS NULL)"
    )
    assert make_home(query="SELECT 1 AS id").window_problem("id") is not None


def test_rows_become_arrow_in_the_described_types() -> None:
    schema = arrow_schema([("n", "bigint"), ("d", "decimal(10,2)"), ("u", "uniqueidentifier"),
                           ("t", "time(7)"), ("z", "datetimeoffset(7)")])  # fmt: skip
    empty = to_batch([], schema)
    assert empty.num_rows == 0 and empty.schema == schema
    at = datetime(2026, 1, 1, tzinfo=UTC)
    batch = to_batch([(1, Decimal("1.50"), _Uuid(), time(1, 2), at), (None,) * 5], schema)
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    assert frame.schema == pl.Schema(
        {"n": pl.Int64, "d": pl.Decimal(10, 2), "u": pl.String, "t": pl.Time,
         "z": pl.Datetime("us", "UTC")}
    )  # fmt: skip
    assert frame.row(0) == (1, Decimal("1.50"), "uuid-text", time(1, 2), at)


class _Uuid:
    def __str__(self) -> str:
        return "uuid-text"


def test_driver_errors_are_mapped_and_redacted() -> None:
    login = mapped(
        Exception(18456, f"Login failed for user 'sa'. {FAKE}".encode()), "x", StoreError
    )
    assert type(login) is StoreError and "s3cret" not in login.message
    down = mapped(Exception(20009, b"Unable to connect: Adaptive Server is unavailable"), "x",
                  SourceError)  # fmt: skip
    assert isinstance(down, RetryableError)
    assert isinstance(mapped(Exception(1205, b"deadlock victim"), "x", StoreError), RetryableError)


# --- against a server ------------------------------------------------------------------------

needs_server = pytest.mark.skipif(
    not URL, reason="set HYGGE_TEST_MSSQL_URL=mssql://user:password@host:port/database to run"
    " the home and store contracts against SQL Server (none can run on this machine)"
)  # fmt: skip


def table_of(tmp_path: Path) -> str:
    return "t_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]


def run(statement: str, rows: list[tuple[Any, ...]] | None = None) -> list[tuple[Any, ...]]:
    from urllib.parse import unquote, urlsplit

    import pymssql

    parts = urlsplit(URL or "")
    with pymssql.connect(
        server=parts.hostname or "localhost", port=str(parts.port or 1433),
        user=unquote(parts.username or ""), password=unquote(parts.password or ""),
        database=parts.path.lstrip("/"), autocommit=True,
    ) as con, con.cursor() as cur:  # fmt: skip
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
            run(f"INSERT INTO [dbo].[{name}] VALUES (%d, %s)", list(frame.iter_rows()))
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
    the store's order of statements is checked against a stand-in for pymssql's connection.
    It knows one thing: the stage tables it was asked to create (for `sys.tables`)."""

    def __init__(self, tables: list[str]) -> None:
        self.tables = tables
        self.said: list[str] = []
        self.copied = 0

    def connect(self, **_: Any) -> _Server:
        return self

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def bulk_copy(self, table: str, rows: Any, batch_size: int) -> None:
        self.said.append(f"BCP {table}")
        self.copied += len(list(rows))

    def close(self) -> None:
        pass


class _Cursor:
    def __init__(self, server: _Server) -> None:
        self.server, self.rows, self.description = server, [], None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.server.said.append(sql)
        self.rows = [(t,) for t in self.server.tables] if "sys.tables" in sql else []
        self.description = [("x",)] if self.rows or sql.startswith("SELECT") else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def close(self) -> None:
        pass


def test_a_full_drop_load_stages_copies_and_publishes_in_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pymssql

    writer = store("mssql", tmp_path, url=FAKE, table="orders")
    assert isinstance(writer, MsSqlStore)
    server = _Server([writer.stage_name("crashed"), "_hygge_stage#elsewhere#x", "orders"])
    monkeypatch.setattr(pymssql, "connect", server.connect)

    writer.recover()
    load = writer.begin(LoadRun("run-1", "full_drop"))
    load.write(sample(3))
    load.publish(commit_of("run-1"))

    said = server.said
    drops = [s for s in said if s.startswith("DROP TABLE IF EXISTS")]
    assert drops[0] == f"DROP TABLE IF EXISTS [dbo].[{writer.stage_name('crashed')}]"
    assert not any("elsewhere" in s for s in drops)  # another destination's stage stays
    publish = said[said.index("BEGIN TRANSACTION", said.index(f"BCP {load.stage}")) :]
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
    import pymssql

    writer = store("mssql", tmp_path, url=FAKE, table="orders")
    server = _Repeating([[(7,)], [] if ordered else [(7,)]])
    monkeypatch.setattr(pymssql, "connect", server.connect)
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
