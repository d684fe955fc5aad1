"""The SQL the mssql store sends, as pure functions (testable without a server).

Names are quoted and checked by `hygge.engines.mssql` (`quote`, `plain`, `table`). Values are
never part of the text: a statement is SQL with `?` slots and the tuple of values the driver
fills in.

Publishing is one transaction (see `publish`). Merge is DELETE of the destination rows whose
key is staged, then INSERT of the stage, not MERGE: MERGE fails when two staged rows share a
key, needs HOLDLOCK to be safe under concurrency and has a long list of known defects, while
DELETE + INSERT behaves like the other SQL stores (NULL keys match NULL keys).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hygge.engines.mssql import plain, quote, table
from hygge.stores._sql import COMMITS, KEEP_COMMITS

Statement = tuple[str, tuple[Any, ...]]


def create_table(name: str, types: dict[str, str]) -> str:
    columns = ", ".join(f"{quote(column)} {dtype} NULL" for column, dtype in types.items())
    return f"CREATE TABLE {name} ({columns})"


def ensure_schema(schema: str) -> Statement:
    return (
        f"IF SCHEMA_ID(?) IS NULL EXEC('CREATE SCHEMA {quote(plain(schema))}')",
        (schema,),
    )


def drop_if_exists(name: str) -> str:
    return f"DROP TABLE IF EXISTS {name}"


def lock(schema: str) -> Statement:
    """The schema's application lock, held until the transaction ends."""
    return (
        "EXEC sp_getapplock @Resource = ?, @LockMode = 'Exclusive', @LockOwner = 'Transaction'",
        (f"hygge:{plain(schema)}",),
    )


def rename(schema: str, stage: str, to: str) -> Statement:
    """sp_rename of the stage to `to` (the new name is given bare, as sp_rename wants)."""
    return "EXEC sp_rename ?, ?", (table(schema, stage), plain(to))


def publish(
    schema: str,
    dest: str,
    stage: str,
    run_type: str,
    staged: dict[str, str],
    held: dict[str, str],
    keys: tuple[str, ...] = (),
) -> list[Statement]:
    """What publishing a stage does, inside the transaction (after `lock`).

    full_drop drops the destination and renames the stage into its place; with nothing
    staged a destination keeps its columns and loses its rows. incremental and merge rename
    the stage into place when there is no destination, else add the new columns (nullable),
    merge deletes the destination rows whose key is staged, the stage is inserted and dropped.
    `held` is the destination's column -> type (empty when it does not exist).
    """
    target, source = table(schema, dest), table(schema, stage)
    if not staged:
        return [(f"DELETE FROM {target}", ())] if run_type == "full_drop" and held else []
    if run_type == "full_drop" or not held:
        return [(drop_if_exists(target), ()), rename(schema, stage, dest)]
    out: list[Statement] = [
        (f"ALTER TABLE {target} ADD {quote(name)} {dtype} NULL", ())
        for name, dtype in staged.items()
        if name not in held
    ]
    if run_type == "merge":
        on = " AND ".join(
            f"(d.{quote(k)} = s.{quote(k)} OR (d.{quote(k)} IS NULL AND s.{quote(k)} IS NULL))"
            for k in keys
        )
        out.append((f"DELETE d FROM {target} AS d INNER JOIN {source} AS s ON {on}", ()))
    names = ", ".join(quote(name) for name in staged)
    out.append((f"INSERT INTO {target} ({names}) SELECT {names} FROM {source}", ()))
    out.append((f"DROP TABLE {source}", ()))
    return out


def record(
    schema: str,
    destination: str,
    run_id: str,
    published_at: datetime,
    watermark: str | None,
    state: bytes | None,
) -> list[Statement]:
    """The commit record, in the publish's transaction; only the newest KEEP_COMMITS are kept.
    The time goes in UTC, without its zone (a datetimeoffset takes it as +00:00), the state
    as bytes (bound as varbinary)."""
    records = table(schema, COMMITS)
    if published_at.tzinfo is not None:
        published_at = published_at.astimezone(UTC).replace(tzinfo=None)
    return [
        (
            f"IF OBJECT_ID(?, 'U') IS NULL CREATE TABLE {records} (run_id nvarchar(200)"
            " NOT NULL, destination nvarchar(400) NOT NULL, published_at datetimeoffset(7)"
            " NOT NULL, watermark nvarchar(max) NULL, state varbinary(max) NULL)",
            (records,),
        ),
        (
            f"INSERT INTO {records} (run_id, destination, published_at, watermark, state)"
            " VALUES (?, ?, ?, ?, ?)",
            (run_id, destination, published_at, watermark, state),
        ),
        (
            f"DELETE FROM {records} WHERE destination = ? AND run_id NOT IN"
            f" (SELECT TOP ({KEEP_COMMITS}) run_id FROM {records} WHERE destination = ?"
            " ORDER BY published_at DESC, run_id DESC)",
            (destination, destination),
        ),
    ]


def last_commit(schema: str, destination: str) -> Statement:
    records = table(schema, COMMITS)
    return (
        f"IF OBJECT_ID(?, 'U') IS NOT NULL SELECT TOP (1) run_id, published_at, watermark,"
        f" state FROM {records} WHERE destination = ? ORDER BY published_at DESC, run_id DESC",
        (records, destination),
    )
