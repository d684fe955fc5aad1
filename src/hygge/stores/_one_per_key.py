"""A merge keeps one row per key, even when one load holds a key more than once.

A source hands a merge several versions of a row when the row changed more than once between
runs (an event log, a change feed, a file per month). Inserting them all would leave the key
twice in the destination. So before a merge publishes, the stage keeps only the version with
the greatest `version` column (the watermark) of each key, and exact copies once. Versions
that differ but cannot be ordered (the same watermark, or no watermark) fail the load,
naming a key: which one is current is the user's call, not hygge's.

Finding no repeated key, the common case, costs one aggregate over the stage; the stage is
rewritten only when it holds repeats. The SQL is plain (GROUP BY, a window MAX, CREATE TABLE
AS, DISTINCT), so every engine runs the same text; the rewrite goes through a copy and back
into the stage so the stage keeps its declared column types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hygge.engines.cursor import Cursor
from hygge.errors import StoreError

SHOWN = 3  # repeated keys named in an error
NEWEST = "_hygge_newest"


def one_row_per_key(
    cur: Cursor,
    stage: str,
    copy: str,
    names: Sequence[str],
    keys: Sequence[str],
    version: str | None,
    quote: Callable[[str], str],
    tsql: bool = False,
) -> None:
    """Leave the stage (quoted name) with one row per key; `copy` is a scratch table name.
    `tsql`: SQL Server's forms (`TOP`, `SELECT ... INTO`) where the others say `LIMIT`,
    `CREATE TABLE ... AS`."""
    if not _repeated(cur, stage, keys, quote, tsql):
        return
    columns = ", ".join(map(quote, names))
    into = f" INTO {copy}" if tsql else ""
    newest = _newest(stage, columns, into, keys, version, names, quote)
    cur.execute(newest if tsql else f"CREATE TABLE {copy} AS {newest}")
    cur.execute(f"DELETE FROM {stage}")
    cur.execute(f"INSERT INTO {stage} ({columns}) SELECT {columns} FROM {copy}")
    cur.execute(f"DROP TABLE {copy}")
    still = _repeated(cur, stage, keys, quote, tsql)
    if still:
        raise ambiguous_versions(still, keys, version)


def _repeated(
    cur: Cursor, stage: str, keys: Sequence[str], quote: Callable[[str], str], tsql: bool
) -> list[tuple[Any, ...]]:
    """A few key values that the stage holds more than once."""
    listed = ", ".join(map(quote, keys))
    top, limit = (f"TOP ({SHOWN}) ", "") if tsql else ("", f" LIMIT {SHOWN}")
    cur.execute(f"SELECT {top}{listed} FROM {stage} GROUP BY {listed} HAVING COUNT(*) > 1{limit}")
    return [tuple(row) for row in cur.fetchall()]


def _newest(
    stage: str,
    columns: str,
    into: str,
    keys: Sequence[str],
    version: str | None,
    names: Sequence[str],
    quote: Callable[[str], str],
) -> str:
    """The stage's rows that no version of their key outranks, each distinct row once
    (`into`: T-SQL's ` INTO table`, or nothing)."""
    if version is None or version not in names:
        return f"SELECT DISTINCT {columns}{into} FROM {stage}"
    listed, newest, ranked = ", ".join(map(quote, keys)), quote(NEWEST), quote(version)
    return (
        f"SELECT DISTINCT {columns}{into} FROM (SELECT {columns}, MAX({ranked}) OVER"
        f" (PARTITION BY {listed}) AS {newest} FROM {stage}) AS versions"
        f" WHERE {ranked} = {newest}"
    )


def ambiguous_versions(
    repeats: list[tuple[Any, ...]], keys: Sequence[str], version: str | None
) -> StoreError:
    shown = "; ".join(
        ", ".join(f"{key}={value!r}" for key, value in zip(keys, row, strict=True))
        for row in repeats
    )
    tie = f" and the same {version!r}" if version else ""
    return StoreError(
        f"the rows to merge hold differing versions of one primary key{tie}, so none can be"
        f" told current: {shown}",
        hint="make primary_key unique in the source, or give the entity a watermark whose"
        " greatest value marks the current version",
    )
