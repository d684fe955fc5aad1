"""The SQL the SQL Server store generates, and its type mapping both ways (no server needed):
quoting, refused names, DDL for every supported type, publish statements per run type, and the
commit record with its values as parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from hygge.engines import mssql as engine
from hygge.errors import StoreError
from hygge.stores import _mssql_sql as sql
from hygge.stores._sql_columns import column_types
from hygge.stores.mssql import MsSqlStoreConfig

# (Polars type, SQL Server column, Polars type read back)
TYPES: list[tuple[pl.DataType, str, pl.DataType]] = [
    (pl.Int64(), "bigint", pl.Int64()), (pl.Int32(), "int", pl.Int32()),
    (pl.Int16(), "smallint", pl.Int16()), (pl.Int8(), "smallint", pl.Int16()),
    (pl.UInt8(), "tinyint", pl.UInt8()), (pl.UInt16(), "int", pl.Int32()),
    (pl.UInt32(), "bigint", pl.Int64()), (pl.UInt64(), "decimal(20,0)", pl.Decimal(20, 0)),
    (pl.Boolean(), "bit", pl.Boolean()), (pl.Float64(), "float", pl.Float64()),
    (pl.Float32(), "real", pl.Float32()), (pl.Decimal(18, 4), "decimal(18,4)", pl.Decimal(18, 4)),
    (pl.String(), "nvarchar(max)", pl.String()), (pl.Categorical(), "nvarchar(max)", pl.String()),
    (pl.Null(), "nvarchar(max)", pl.String()), (pl.Binary(), "varbinary(max)", pl.Binary()),
    (pl.Date(), "date", pl.Date()), (pl.Time(), "time(7)", pl.Time()),
    (pl.Datetime("us"), "datetime2(7)", pl.Datetime("us")),
    (pl.Datetime("us", "UTC"), "datetimeoffset(7)", pl.Datetime("us", "UTC")),
]  # fmt: skip


def test_identifiers_are_bracket_quoted_and_plain_names_checked() -> None:
    assert engine.quote("a]b") == "[a]]b]"
    assert engine.table("dbo", "orders") == "[dbo].[orders]"
    assert engine.table("s", "_hygge_stage#ab12#20260101T000000-ff") == (
        "[s].[_hygge_stage#ab12#20260101T000000-ff]"
    )


@pytest.mark.parametrize(
    "name", ["x]; DROP TABLE y--", "a b", "o'k", "t;", "[t]", "", "x" * 129, "a.b"]
)
def test_injection_looking_names_are_refused(name: str) -> None:
    with pytest.raises(StoreError):
        engine.table("dbo", name)
    with pytest.raises(StoreError):
        engine.table(name, "t")


def test_ddl_covers_every_supported_type() -> None:
    schema = pl.Schema({f"c{i}": dtype for i, (dtype, _, _) in enumerate(TYPES)})
    columns = ", ".join(f"[c{i}] {kind} NULL" for i, (_, kind, _) in enumerate(TYPES))
    assert sql.create_table("[dbo].[t]", column_types(schema, engine.column_type)) == (
        f"CREATE TABLE [dbo].[t] ({columns})"
    )
    assert sql.create_table("[dbo].[t]", {"we]ird": "int"}) == (
        "CREATE TABLE [dbo].[t] ([we]]ird] int NULL)"
    )


@pytest.mark.parametrize(("dtype", "kind", "back"), TYPES, ids=[k for _, k, _ in TYPES])
def test_type_mapping_both_ways(dtype: pl.DataType, kind: str, back: pl.DataType) -> None:
    assert engine.column_type("c", dtype) == kind
    assert engine.polars_type(kind) == back


@pytest.mark.parametrize(
    "dtype", [pl.Duration("us"), pl.List(pl.Int64()), pl.Struct({"a": pl.Int64()}), pl.Object()]
)
def test_types_without_a_column_stop_the_load_naming_it(dtype: pl.DataType) -> None:
    with pytest.raises(StoreError, match="'bad'"):
        engine.column_type("bad", dtype)


@pytest.mark.parametrize(
    ("kind", "back"),
    [("decimal(10, 2)", pl.Decimal(10, 2)), ("numeric(5,0)", pl.Decimal(5, 0)),
     ("money", pl.Decimal(19, 4)), ("nvarchar(50)", pl.String()), ("varchar(max)", pl.String()),
     ("uniqueidentifier", pl.String()), ("datetime", pl.Datetime("us")),
     ("DATETIME2(3)", pl.Datetime("us")), ("varbinary(16)", pl.Binary()), ("time(3)", pl.Time())],
)  # fmt: skip
def test_server_type_names_are_read_as(kind: str, back: pl.DataType) -> None:
    assert engine.polars_type(kind) == back


def test_type_text_from_sys_columns_and_what_fits() -> None:
    assert engine.type_text("nvarchar", -1, 0, 0) == "nvarchar(max)"
    assert engine.type_text("nvarchar", 100, 0, 0) == "nvarchar(50)"
    assert engine.type_text("decimal", 9, 10, 2) == "decimal(10,2)"
    assert engine.type_text("datetime2", 8, 27, 7) == "datetime2(7)"
    assert engine.type_text("bigint", 8, 19, 0) == "bigint"
    assert engine.fits("int", "bigint") and not engine.fits("bigint", "int")
    assert engine.fits("decimal(10,2)", "decimal(12,3)") and not engine.fits("decimal(10,2)", "int")
    assert engine.fits("real", "float") and engine.fits("date", "nvarchar(max)")
    assert not engine.fits("datetimeoffset(7)", "datetime2(7)")


STAGED = {"id": "bigint", "name": "nvarchar(max)"}
STAGE = "[dbo].[_hygge_stage#ab#r1]"


def publish(run_type: str, held: dict[str, str], staged: dict[str, str] = STAGED) -> list[Any]:
    return sql.publish("dbo", "t", "_hygge_stage#ab#r1", run_type, staged, held, ("id",))


def test_full_drop_drops_and_renames_the_stage_into_place() -> None:
    rename = ("EXEC sp_rename ?, ?", ("[dbo].[_hygge_stage#ab#r1]", "t"))
    for held in ({}, {"id": "int"}):
        assert publish("full_drop", held) == [("DROP TABLE IF EXISTS [dbo].[t]", ()), rename]
    assert publish("incremental", {}) == publish("full_drop", {})  # first load: the stage
    assert publish("full_drop", {"id": "int"}, {}) == [("DELETE FROM [dbo].[t]", ())]
    assert publish("full_drop", {}, {}) == []
    assert publish("incremental", {"id": "int"}, {}) == []


def test_incremental_adds_new_columns_then_inserts_the_stage() -> None:
    assert publish("incremental", {"id": "bigint"}) == [
        ("ALTER TABLE [dbo].[t] ADD [name] nvarchar(max) NULL", ()),
        (f"INSERT INTO [dbo].[t] ([id], [name]) SELECT [id], [name] FROM {STAGE}", ()),
        (f"DROP TABLE {STAGE}", ()),
    ]


def test_merge_deletes_the_staged_keys_then_inserts() -> None:
    statements = publish("merge", dict(STAGED))
    assert statements[0] == (
        f"DELETE d FROM [dbo].[t] AS d INNER JOIN {STAGE} AS s"
        " ON (d.[id] = s.[id] OR (d.[id] IS NULL AND s.[id] IS NULL))",
        (),
    )
    assert [s[0].split()[0] for s in statements] == ["DELETE", "INSERT", "DROP"]
    two = sql.publish("dbo", "t", "s1", "merge", STAGED, STAGED, ("id", "name"))
    assert " AND (d.[name] = s.[name]" in two[0][0]


def test_commit_record_binds_its_values() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    create, insert, trim = sql.record("dbo", "dbo.t", "run'1", at, "w'm", b"\x00\xff")
    assert create == (
        "IF OBJECT_ID(?, 'U') IS NULL CREATE TABLE [dbo].[_hygge_commits] (run_id"
        " nvarchar(200) NOT NULL, destination nvarchar(400) NOT NULL, published_at"
        " datetimeoffset(7) NOT NULL, watermark nvarchar(max) NULL, state varbinary(max) NULL)",
        ("[dbo].[_hygge_commits]",),
    )
    assert insert[0] == (
        "INSERT INTO [dbo].[_hygge_commits] (run_id, destination, published_at, watermark,"
        " state) VALUES (?, ?, ?, ?, ?)"
    )
    assert insert[1] == ("run'1", "dbo.t", at.replace(tzinfo=None), "w'm", b"\0\xff")
    assert "TOP (20)" in trim[0] and trim[1] == ("dbo.t", "dbo.t")
    assert "run'1" not in insert[0] + trim[0]
    assert sql.record("dbo", "dbo.t", "r", at, None, None)[1][1][3:] == (None, None)
    text, values = sql.last_commit("dbo", "dbo.t")
    assert "TOP (1)" in text and values == ("[dbo].[_hygge_commits]", "dbo.t")
    assert sql.lock("dbo")[1] == ("hygge:dbo",)
    assert sql.ensure_schema("s1") == (
        "IF SCHEMA_ID(?) IS NULL EXEC('CREATE SCHEMA [s1]')",
        ("s1",),
    )


def test_a_store_table_may_name_its_schema() -> None:
    """`table: sales.orders` writes [sales].[orders] (with no `schema`, or the same one)."""
    url = "mssql://app:pw@db:1433/shop"
    for extra in ({}, {"schema": "sales"}):
        config = MsSqlStoreConfig.model_validate({"url": url, "table": "sales.orders", **extra})
        assert (config.schema_name, config.table) == ("sales", "orders")
    with pytest.raises(ValueError, match="names schema 'sales', but schema is 'dbo'"):
        MsSqlStoreConfig.model_validate({"url": url, "table": "sales.orders", "schema": "dbo"})


# Names holding each engine's quote character, a space and non-ASCII letters, bracket-quoted.
ODD = {
    'we"ird': '[we"ird]',
    "back`tick": "[back`tick]",
    "br]acket": "[br]]acket]",
    "with space": "[with space]",
    "Ünïcødé": "[Ünïcødé]",
}


def test_odd_column_names_are_bracket_quoted_in_ddl_inserts_and_merge_keys() -> None:
    staged = dict.fromkeys(ODD, "bigint")
    listed = ", ".join(ODD.values())
    assert sql.create_table("[dbo].[t]", staged) == (
        f"CREATE TABLE [dbo].[t] ({', '.join(f'{q} bigint NULL' for q in ODD.values())})"
    )
    added = sql.publish("dbo", "t", "s1", "incremental", staged, {"back`tick": "bigint"})
    assert [s for s, _ in added[:-2]] == [
        f"ALTER TABLE [dbo].[t] ADD {q} bigint NULL" for n, q in ODD.items() if n != "back`tick"
    ]
    assert added[-2] == (f"INSERT INTO [dbo].[t] ({listed}) SELECT {listed} FROM [dbo].[s1]", ())
    merged = sql.publish("dbo", "t", "s1", "merge", staged, staged, ("br]acket", 'we"ird'))
    assert merged[0][0] == (
        "DELETE d FROM [dbo].[t] AS d INNER JOIN [dbo].[s1] AS s"
        " ON (d.[br]]acket] = s.[br]]acket] OR (d.[br]]acket] IS NULL AND s.[br]]acket] IS NULL))"
        ' AND (d.[we"ird] = s.[we"ird] OR (d.[we"ird] IS NULL AND s.[we"ird] IS NULL))'
    )
